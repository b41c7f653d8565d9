"""Purge: drop the columns and tables that destructive publishes kept aside.

A removed field or object is never dropped by a publish: its column or table is renamed aside
(`<name>__retired_r<release>`, see `steps.aside_name`) so its data survives a mistake. What is
aside is found by looking at the database itself — every `obj_` table and column the current
release does not describe — so nothing depends on parsing old plans, and a name shortened to fit
the database's identifier limit is found too (its age is then unknown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Table, inspect

from trellis.runtime.storage.steps import Step, StepContext

_RELEASE = re.compile(r"__retired_r(\d+)$")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class DropAsideTable(Step):
    """Drop a table a removed object's rows were kept in."""

    table: str
    release: int | None  # the release that set it aside, when its name says so

    destructive = True

    def describe(self) -> str:
        since = f" (aside since release {self.release})" if self.release else ""
        return f"drop table {self.table}{since}: its rows are gone for good"

    def apply(self, ctx: StepContext) -> None:
        ctx.conn.exec_driver_sql(f"DROP TABLE {_quoted(self.table)}")


@dataclass(frozen=True)
class DropAsideColumn(Step):
    """Drop a column a removed (or retyped) field's values were kept in."""

    column: str
    release: int | None

    destructive = True

    def describe(self) -> str:
        since = f" (aside since release {self.release})" if self.release else ""
        return f"drop column obj_{self.object}.{self.column}{since}: its values are gone for good"

    def apply(self, ctx: StepContext) -> None:
        # SQLite 3.35+ drops a plain column in place; a column set aside carries no index or key
        ctx.conn.exec_driver_sql(f"ALTER TABLE {_quoted('obj_' + self.object)} DROP COLUMN {_quoted(self.column)}")


AsideStep = DropAsideTable | DropAsideColumn


def aside_storage(conn: Connection, schema: str | None, tables: Mapping[str, Table]) -> list[AsideStep]:
    """Every table and column named `obj_…` in the database that the current release's `tables`
    (by object name) do not describe, oldest release first."""
    inspector = inspect(conn)
    current = {table.name: table for table in tables.values()}
    found: list[AsideStep] = []
    for name in sorted(inspector.get_table_names(schema=schema)):
        if not name.startswith("obj_"):
            continue
        table = current.get(name)
        if table is None:
            found.append(DropAsideTable(name.removeprefix("obj_"), name, _release_of(name)))
            continue
        for column in inspector.get_columns(name, schema=schema):
            if column["name"] not in table.c:
                found.append(DropAsideColumn(name.removeprefix("obj_"), column["name"], _release_of(column["name"])))
    return sorted(found, key=lambda s: (s.release or 0, s.describe()))


def _release_of(name: str) -> int | None:
    match = _RELEASE.search(name)
    return int(match.group(1)) if match else None
