"""App packages: installed app versions with their shipped documents, the app versions of each
release, and each release's provenance (shipped / customised with its patch / removed / tenant).

New tables only, so SQLite and PostgreSQL create them the same way (no batch copy needed).

Revision ID: t0008
Revises: t0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "t0008"
down_revision = "t0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_versions",
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(20), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(255), nullable=False),
    )
    op.create_table(
        "app_version_items",
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("hash", sa.String(64), sa.ForeignKey("metadata_blobs.hash"), nullable=False),
    )
    op.create_table(
        "release_apps",
        sa.Column("release", sa.Integer, sa.ForeignKey("metadata_releases.number"), primary_key=True),
        sa.Column("app", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(20), nullable=False),
    )
    op.create_table(
        "release_provenance",
        sa.Column("release", sa.Integer, sa.ForeignKey("metadata_releases.number"), primary_key=True),
        sa.Column("kind", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("app", sa.String(40), nullable=True),
        sa.Column("patch", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for table in ("release_provenance", "release_apps", "app_version_items", "app_versions"):
        op.drop_table(table)
