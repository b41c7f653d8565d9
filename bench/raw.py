"""The baseline side: the same storage changes done with plain SQLAlchemy Core and raw SQL.

Nothing here plans, validates or records anything; it is the least work that leaves the database
in the state Trellis leaves it in (which `storage_of` lets a benchmark check).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, Connection, Index, MetaData, Table, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable


def quote(dialect: Dialect, name: str) -> str:
    return dialect.identifier_preparer.quote(name)


def add_column_sql(dialect: Dialect, table: str, column: Column) -> str:  # type: ignore[type-arg]
    """`ALTER TABLE t ADD COLUMN c type` for a plain (no constraint) column."""
    type_sql = column.type.compile(dialect=dialect)
    return f"ALTER TABLE {quote(dialect, table)} ADD COLUMN {quote(dialect, column.name)} {type_sql}"


def create_index_sql(dialect: Dialect, index: Index) -> str:
    """`CREATE INDEX i ON t (c, ...)` for a plain index."""
    columns = ", ".join(quote(dialect, c.name) for c in index.columns)
    unique = "UNIQUE " if index.unique else ""
    assert index.table is not None and index.name is not None
    return f"CREATE {unique}INDEX {quote(dialect, index.name)} ON {quote(dialect, index.table.name)} ({columns})"


def create_all(conn: Connection, tables: Mapping[str, Table]) -> None:
    """Every table and index of a release, as `MetaData.create_all` emits them (no existence checks:
    the database is fresh, and Trellis does not check either)."""
    metadata = next(iter(tables.values())).metadata
    metadata.create_all(conn, checkfirst=False)


class CopyRebuild:
    """SQLite's documented way to add a constrained column: create the new table, copy every row,
    drop the old one, rename, recreate the indexes, check foreign keys. Prepared ahead of timing;
    `run` must be called inside a transaction opened with foreign keys off."""

    def __init__(self, tables: Mapping[str, Table], object_name: str, new_column: str):
        self.target = tables[object_name]
        copies = MetaData()  # the temporary table's foreign keys must resolve, so copy its peers
        for table in tables.values():
            if table is not self.target:
                table.to_metadata(copies)
        self.temporary = self.target.to_metadata(copies, name=f"{self.target.name}__new")
        self.kept = [c.name for c in self.target.columns if c.name != new_column]

    def run(self, conn: Connection) -> None:
        d = conn.dialect
        old, new = quote(d, self.target.name), quote(d, self.temporary.name)
        columns = ", ".join(quote(d, c) for c in self.kept)
        conn.execute(CreateTable(self.temporary))
        conn.exec_driver_sql(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}")
        conn.exec_driver_sql(f"DROP TABLE {old}")
        conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {old}")
        for index in sorted(self.target.indexes, key=lambda i: i.name or ""):
            conn.execute(CreateIndex(index))
        problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key check failed after the copy: {problems[:5]}")


def storage_of(conn: Connection, schema: str | None) -> dict[str, Any]:
    """Columns (name, type), indexes and foreign keys of every object table: equal for equal work."""
    insp = inspect(conn)
    out: dict[str, Any] = {}
    for name in sorted(n for n in insp.get_table_names(schema=schema) if n.startswith("obj_")):
        out[name] = (
            [(c["name"], str(c["type"])) for c in insp.get_columns(name, schema=schema)],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                   for i in insp.get_indexes(name, schema=schema)),
            sorted((fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"])
                   for fk in insp.get_foreign_keys(name, schema=schema)),
        )
    return out
