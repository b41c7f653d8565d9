"""The workspace's saved list views (trellis/workspace/tables.py).

A new table only, so SQLite and PostgreSQL create it the same way.

Revision ID: t0010
Revises: t0009
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace_views",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "object", "name", name="uq_workspace_views__user_object_name"),
    )


def downgrade() -> None:
    op.drop_table("workspace_views")
