"""Run the Alembic migrations for the system tables, from code, inside the caller's transaction.

The migration scripts ship inside the package (`trellis.migrations`, mapped from the repository's
`migrations/` folder) so an installed wheel migrates exactly like a checkout. There are two
version histories: `control` (the tenant registry) and `tenant` (each tenant's system tables).
"""

from __future__ import annotations

from importlib.resources import as_file, files
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

History = Literal["control", "tenant"]


def _config(history: History, location: str) -> Config:
    config = Config()
    config.set_main_option("script_location", location)
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", f"{location}/{history}")
    return config


def upgrade(conn: Connection, history: History, schema: str | None) -> str | None:
    """Bring one database to the newest revision of `history`; returns that revision."""
    with as_file(files("trellis.migrations")) as location:
        config = _config(history, str(location))
        config.attributes["connection"] = conn
        config.attributes["schema"] = schema
        command.upgrade(config, "heads")
        return ScriptDirectory.from_config(config).get_current_head()


def current_revision(conn: Connection, schema: str | None) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table_schema": schema})
    return context.get_current_revision()


def head_revision(history: History) -> str | None:
    with as_file(files("trellis.migrations")) as location:
        return ScriptDirectory.from_config(_config(history, str(location))).get_current_head()
