"""Metadata releases, their items and drafts (migration t0001).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

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
