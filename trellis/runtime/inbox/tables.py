"""In-app notifications and tasks, the inbox of each user (migration t0004).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata
from trellis.runtime.identity import tables as _users  # noqa: F401  (the users these rows point to)

notifications = Table(
    "notifications",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("object", String(64), nullable=True),
    Column("record_id", String(36), nullable=True),
    Column("delivery_id", String(36), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime(), nullable=True),
    Index("ix_notifications__inbox", "user_id", "read_at", "created_at"),
)

tasks = Table(
    "tasks",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("assignee_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("object", String(64), nullable=True),
    Column("record_id", String(36), nullable=True),
    Column("due_date", Date, nullable=True),
    Column("status", String(16), nullable=False),  # open, done
    Column("delivery_id", String(36), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Index("ix_tasks__assignee", "assignee_id", "status"),
)
