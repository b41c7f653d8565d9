"""Each channel's settings per tenant (migration t0004).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

channel_settings = Table(
    "channel_settings",
    tenant_metadata,
    Column("channel", String(32), primary_key=True),
    Column("config", Text, nullable=False),  # JSON, secrets included: never echoed back
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
