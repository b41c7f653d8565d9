"""Versioned metadata store: drafts, immutable releases and their documents.

Revision ID: t0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metadata_blobs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "metadata_releases",
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("diff", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
    )
    op.create_table(
        "metadata_release_items",
        sa.Column("release", sa.Integer, sa.ForeignKey("metadata_releases.number"), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("hash", sa.String(64), sa.ForeignKey("metadata_blobs.hash"), nullable=False),
    )
    op.create_table(
        "metadata_drafts",
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        # NULL document: the draft deletes this item from the next release.
        sa.Column("document", sa.Text, nullable=True),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("metadata_drafts")
    op.drop_table("metadata_release_items")
    op.drop_table("metadata_releases")
    op.drop_table("metadata_blobs")
