"""Core `Table`s for the system tables that the Alembic migrations create.

Code queries through these; the migrations in `migrations/` create them. tests/platform/
test_system_tables.py compares both so they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime

control_metadata = MetaData()

tenants = Table(
    "tenants",
    control_metadata,
    Column("name", String(40), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(8), nullable=False),
    Column("location", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

tenant_metadata = MetaData()

metadata_blobs = Table(
    "metadata_blobs",
    tenant_metadata,
    Column("hash", String(64), primary_key=True),
    Column("document", Text, nullable=False),
)

metadata_releases = Table(
    "metadata_releases",
    tenant_metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("author", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    Column("diff", Text, nullable=False),
    Column("plan", Text, nullable=False),
)

metadata_release_items = Table(
    "metadata_release_items",
    tenant_metadata,
    Column("release", Integer, ForeignKey("metadata_releases.number"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("hash", String(64), ForeignKey("metadata_blobs.hash"), nullable=False),
)

metadata_drafts = Table(
    "metadata_drafts",
    tenant_metadata,
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("document", Text, nullable=True),  # NULL: the draft removes the item
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
