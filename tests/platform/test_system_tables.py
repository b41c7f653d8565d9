"""The Core tables code queries through must match what the migrations create."""

from __future__ import annotations

from sqlalchemy import inspect

from trellis.platform.system_tables import control_metadata, tenant_metadata
from trellis.platform.tenancy import Installation


def _columns(conn, schema, table):  # type: ignore[no-untyped-def]
    return [(c["name"], c["nullable"]) for c in inspect(conn).get_columns(table, schema=schema)]


def test_migrated_tables_match_the_core_definitions(installation: Installation):
    installation.create_tenant("acme")
    for db, metadata in ((installation.database("acme"), tenant_metadata), (installation.control, control_metadata)):
        with db.read() as conn:
            for table in metadata.sorted_tables:
                expected = [(c.name, c.nullable) for c in table.columns]
                assert _columns(conn, db.schema, table.name) == expected, table.name
