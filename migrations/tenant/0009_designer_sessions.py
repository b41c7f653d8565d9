"""The designer's sign-in sessions and failed sign-ins (trellis/designer/tables.py).

New tables only, so SQLite and PostgreSQL create them the same way.

Revision ID: t0009
Revises: t0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "t0009"
down_revision = "t0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "designer_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_designer_sessions_user_id", "designer_sessions", ["user_id"])
    op.create_table(
        "designer_login_failures",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("designer_login_failures")
    op.drop_index("ix_designer_sessions_user_id", "designer_sessions")
    op.drop_table("designer_sessions")
