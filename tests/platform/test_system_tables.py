"""The Core tables code queries through must match what the migrations create."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import inspect

import trellis
from trellis.platform.system_tables import control_metadata, tenant_metadata
from trellis.platform.tenancy import Installation


def _import_every_module() -> None:
    """Features define their tables beside themselves: import them all so both `MetaData` are whole."""
    for module in pkgutil.walk_packages(trellis.__path__, "trellis."):
        if not module.name.startswith("trellis.migrations") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def _columns(conn, schema, table):  # type: ignore[no-untyped-def]
    return [(c["name"], c["nullable"]) for c in inspect(conn).get_columns(table, schema=schema)]


def test_migrated_tables_match_the_core_definitions(installation: Installation):
    _import_every_module()
    installation.create_tenant("acme")
    for db, metadata in ((installation.database("acme"), tenant_metadata), (installation.control, control_metadata)):
        with db.read() as conn:
            migrated = set(inspect(conn).get_table_names(schema=db.schema)) - {"alembic_version"}
            assert {t.name for t in metadata.sorted_tables} == migrated
            for table in metadata.sorted_tables:
                expected = [(c.name, c.nullable) for c in table.columns]
                assert _columns(conn, db.schema, table.name) == expected, table.name
