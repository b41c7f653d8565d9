"""Approvals: requests (at most one pending per record), the task of each approver, the history
of each request and delegations.

New tables only, so SQLite and PostgreSQL create them the same way (no batch copy needed).

Revision ID: t0006
Revises: t0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "t0006"
down_revision = "t0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("process", sa.String(64), nullable=False),
        sa.Column("release", sa.Integer, nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("open_record", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=True),
        sa.Column("lock", sa.Text, nullable=False),
        sa.Column("submitted_by", sa.String(36), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("object", "open_record", name="uq_approval_requests__open"),
    )
    op.create_index("ix_approval_requests__record", "approval_requests", ["object", "record_id"])
    op.create_index("ix_approval_requests__status", "approval_requests", ["status", "submitted_at"])
    op.create_table(
        "approval_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("approval_requests.id"), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("step_name", sa.String(64), nullable=False),
        sa.Column("approver_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("delegated_from", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("request_id", "step", "approver_id", name="uq_approval_tasks__approver"),
    )
    op.create_index("ix_approval_tasks__inbox", "approval_tasks", ["approver_id", "status", "created_at", "request_id"])
    op.create_index("ix_approval_tasks__request", "approval_tasks", ["request_id", "step"])
    op.create_index("ix_approval_tasks__remind", "approval_tasks", ["status", "remind_at"])
    op.create_index("ix_approval_tasks__escalate", "approval_tasks", ["status", "escalate_at"])
    op.create_table(
        "approval_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("request_id", sa.String(36), sa.ForeignKey("approval_requests.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("step", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("key", sa.String(80), nullable=True),
        sa.UniqueConstraint("request_id", "key", name="uq_approval_events__key"),
    )
    op.create_index("ix_approval_events__request", "approval_events", ["request_id", "at"])
    op.create_table(
        "approval_delegations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("delegate_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object", sa.String(64), nullable=True),
        sa.Column("process", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_approval_delegations__user", "approval_delegations", ["user_id", "ends_at"])


def downgrade() -> None:
    for table in ("approval_delegations", "approval_events", "approval_tasks", "approval_requests"):
        op.drop_table(table)
