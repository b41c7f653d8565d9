"""The two `MetaData` of system tables, and the control database's tenant registry.

The kernel knows no feature: each feature defines its tenant tables on `tenant_metadata` in its
own module (`trellis/runtime/identity/tables.py`, `…/automation/tables.py`, …). The Alembic
migrations in `migrations/` create them; tests/platform/test_system_tables.py imports every
module and compares both, so they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    MetaData,
    String,
    Table,
)

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
