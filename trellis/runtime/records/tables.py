"""Who changed which record and field when (migration t0003).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

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
