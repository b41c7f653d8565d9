"""Scores: the runs of score models, a snapshot per scored record per run, the queue of records
to rescore after a change.

New tables only, so SQLite and PostgreSQL create them the same way (no batch copy needed).

Revision ID: t0007
Revises: t0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "t0007"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "score_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("release", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scored", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
    )
    op.create_index("ix_score_runs__model", "score_runs", ["model", "started_at"])
    op.create_table(
        "score_snapshots",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("release", sa.Integer, nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Numeric(7, 2), nullable=True),
        sa.Column("band", sa.String(100), nullable=True),
        sa.Column("factors", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
    )
    op.create_index("ix_score_snapshots__record", "score_snapshots", ["model", "record_id", "computed_at"])
    op.create_index("ix_score_snapshots__run", "score_snapshots", ["run_id"])
    op.create_table(
        "score_queue",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("model", "record_id", name="uq_score_queue__record"),
    )


def downgrade() -> None:
    op.drop_table("score_queue")
    op.drop_table("score_snapshots")
    op.drop_table("score_runs")
