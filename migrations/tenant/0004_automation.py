"""Automation: channel settings, rule watermarks, run history, the delivery ledger (the
outbox), in-app notifications and tasks.

Revision ID: t0004
Revises: t0003
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "t0004"
down_revision = "t0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "workflow_watermarks",
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("scanned_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release", sa.Integer, nullable=False),
    )
    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("release", sa.Integer, nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("anchor", sa.String(40), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.UniqueConstraint("rule", "record_id", "step", "due_at", name="uq_workflow_runs__firing"),
    )
    op.create_index("ix_workflow_runs__record", "workflow_runs", ["object", "record_id"])
    op.create_index("ix_workflow_runs__rule", "workflow_runs", ["rule", "fired_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("run_id", sa.String(36), sa.ForeignKey("workflow_runs.id"), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("rule", "record_id", "step", "due_at", "action", "channel", "recipient",
                            name="uq_deliveries__ledger"),
    )
    op.create_index("ix_deliveries__queue", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries__run", "deliveries", ["run_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("object", sa.String(64), nullable=True),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("delivery_id", sa.String(36), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notifications__inbox", "notifications", ["user_id", "read_at", "created_at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("assignee_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("object", sa.String(64), nullable=True),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delivery_id", sa.String(36), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_tasks__assignee", "tasks", ["assignee_id", "status"])


def downgrade() -> None:
    for table in ("tasks", "notifications", "deliveries", "workflow_runs", "workflow_watermarks",
                  "channel_settings"):
        op.drop_table(table)
