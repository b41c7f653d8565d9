"""Core `Table`s for the system tables that the Alembic migrations create.

Code queries through these; the migrations in `migrations/` create them. tests/platform/
test_system_tables.py compares both so they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

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

users = Table(
    "users",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("name", String(255), nullable=False),
    Column("password_hash", String(255), nullable=True),  # NULL: the user signs in with tokens only
    Column("active", Boolean, nullable=False),
    Column("manager_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

user_roles = Table(
    "user_roles",
    tenant_metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Index("ix_user_roles_role", "role"),
)

api_tokens = Table(
    "api_tokens",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the secret
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)

audit_log = Table(
    "audit_log",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("action", String(16), nullable=False),  # create, update, delete, restore, purge
    Column("changes", Text, nullable=False),  # JSON {field: [old, new]}
    Index("ix_audit_log__record", "object", "record_id"),
)

field_history = Table(
    "field_history",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text, nullable=True),  # JSON
    Column("new_value", Text, nullable=True),  # JSON
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("changed_by", String(64), nullable=False),
    Index("ix_field_history__record", "object", "record_id", "field"),
)
