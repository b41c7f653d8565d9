"""The workspace's own table (migration t0010): each user's saved list views.

A view is a list page's query string (columns, filters, sort), named by its owner; it is read
back through the same parser as a typed URL, so a view saved before a field was hidden from
its owner shows an error for that field rather than the field.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata
from trellis.runtime.identity import tables as _users  # noqa: F401  (the users these rows point to)

workspace_views = Table(
    "workspace_views",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("object", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("query", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("user_id", "object", "name", name="uq_workspace_views__user_object_name"),
)
