"""The designer's own tables (migration t0009): sign-in sessions and failed sign-ins.

Sessions live in the database, not only in the cookie, so signing out (or an admin deactivating
a user) ends a session on every worker at once; failed sign-ins are counted there too, so the
throttle holds across workers and restarts.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

designer_sessions = Table(
    "designer_sessions",
    tenant_metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 hex of the session id in the cookie
    Column("user_id", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_designer_sessions_user_id", "user_id"),
)

designer_login_failures = Table(
    "designer_login_failures",
    tenant_metadata,
    Column("key", String(64), primary_key=True),  # SHA-256 hex of (email, client address)
    Column("failures", Integer, nullable=False),
    Column("first_failed_at", UtcDateTime(), nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
)
