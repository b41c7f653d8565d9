"""Users, their roles and API tokens (migration t0002).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

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
