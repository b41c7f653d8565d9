"""add_field_1m: adding a field to an object whose table already holds a million rows.

`deal` (8 fields, one a lookup to `account`) is filled in SQL, identically on both sides: a
Trellis tenant where it was published, and a bare database where `create_all` made the same
tables. Each case then adds fields release after release, the baseline doing the same DDL by hand:
* `plain`   one text field: Trellis publish vs raw `ALTER TABLE ADD COLUMN`;
* `lookup`  (SQLite only) one lookup: SQLite cannot add a foreign key to a table, so both sides
            copy every row into a new table (Alembic batch vs the hand-written copy recipe);
* `indexed` one `x-index` field: ALTER plus an index over every row on both sides.
Cases run in that order on the same tables (field names are numbered), so the copy of `lookup`
carries the indexes of the fields added before it, on both sides alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, text

from bench.backends import Backend, BaselineDb, check_same_storage
from bench.generate import (
    STAGES,
    Document,
    deal_set,
    indexed_field,
    lookup_field,
    plain_field,
)
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare
from bench.raw import CopyRebuild, add_column_sql, create_all, create_index_sql
from trellis.platform.db import Database, quote_schema
from trellis.runtime.releases import MetadataStore
from trellis.runtime.storage import build_tables

NAME = "add_field_1m"
OBJECT = "deal"

_SQLITE_NUMBERS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows) "
_SQLITE_FILL = {
    "account": _SQLITE_NUMBERS + """
        INSERT INTO obj_account (id, created_at, updated_at, version, name, region)
        SELECT printf('%036d', i), :ts, :ts, 1, 'account ' || i, :region FROM n""",
    "deal": _SQLITE_NUMBERS + """
        INSERT INTO obj_deal (id, created_at, updated_at, version, name, stage, amount, quantity,
                              close_date, account)
        SELECT printf('%036d', i), :ts, :ts, 1, 'deal ' || i,
               CASE i % 3 WHEN 0 THEN :s0 WHEN 1 THEN :s1 ELSE :s2 END,
               (i % 100000) * 100, i % 50, date('2024-01-01', '+' || (i % 365) || ' days'),
               printf('%036d', i % :accounts + 1)
        FROM n""",
}
_POSTGRES_FILL = {
    "account": """
        INSERT INTO obj_account (id, created_at, updated_at, version, name, region)
        SELECT lpad(i::text, 36, '0'), CAST(:ts AS timestamptz), CAST(:ts AS timestamptz), 1,
               'account ' || i, CAST(:region AS text)
        FROM generate_series(1, :rows) AS s(i)""",
    "deal": """
        INSERT INTO obj_deal (id, created_at, updated_at, version, name, stage, amount, quantity,
                              close_date, account)
        SELECT lpad(i::text, 36, '0'), CAST(:ts AS timestamptz), CAST(:ts AS timestamptz), 1,
               'deal ' || i,
               CASE i % 3 WHEN 0 THEN CAST(:s0 AS text) WHEN 1 THEN CAST(:s1 AS text) ELSE CAST(:s2 AS text) END,
               i % 100000, i % 50, DATE '2024-01-01' + (i % 365), lpad((i % :accounts + 1)::text, 36, '0')
        FROM generate_series(1, :rows) AS s(i)""",
}
#: `created_at` of generated rows, in the form each dialect stores a UTC instant.
TIMESTAMP = {"sqlite": "2024-01-01 00:00:00.000000", "postgresql": "2024-01-01 00:00:00+00"}


def fill_accounts(conn: Connection, sizes: Sizes) -> None:
    """`sizes.accounts` accounts with ids `account_id(1..n)`, generated inside the database."""
    dialect = conn.dialect.name
    statements = _SQLITE_FILL if dialect == "sqlite" else _POSTGRES_FILL
    conn.execute(text(statements["account"]), {"ts": TIMESTAMP[dialect], "rows": sizes.accounts, "region": "华东"})


def account_id(number: int) -> str:
    """The id `fill_accounts` gives account `number` (1-based)."""
    return f"{number:036d}"


def fill(conn: Connection, sizes: Sizes) -> None:
    """Accounts, then a million deals pointing at them, generated inside the database."""
    fill_accounts(conn, sizes)
    dialect = conn.dialect.name
    statements = _SQLITE_FILL if dialect == "sqlite" else _POSTGRES_FILL
    conn.execute(text(statements["deal"]), {"ts": TIMESTAMP[dialect], "accounts": sizes.accounts, "rows": sizes.rows,
                                            "s0": STAGES[0], "s1": STAGES[1], "s2": STAGES[2]})


def settle(engine: Engine, schema: str | None, tables: tuple[str, ...] = ("obj_account", "obj_deal")) -> None:
    """Leave no bulk-load debt for a timed step to pay: checkpoint SQLite's WAL; vacuum and
    analyze on PostgreSQL (sets hint bits that the first scan would otherwise write)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            conn.exec_driver_sql(f"VACUUM (FREEZE, ANALYZE) {quote_schema(schema or 'public')}.{table}")


class TrellisSide:
    """A tenant with `deal` published and filled; each call publishes one more field."""

    def __init__(self, backend: Backend, sizes: Sizes):
        self.db: Database = backend.tenant("big")
        self.store = MetadataStore(self.db)
        self.added: dict[str, Document] = {}
        self.store.publish(deal_set(), author="bench", message="release 1")
        with self.db.write() as conn:
            fill(conn, sizes)
        settle(self.db.engine, self.db.schema)

    def add(self, name: str, schema: Document, watch: Stopwatch) -> None:
        self.added[name] = schema
        release = deal_set(self.added)
        with watch:
            self.store.publish(release, author="bench", message=f"add {name}")


class BaselineSide:
    """The same tables and rows in a bare database; each call does the same DDL by hand."""

    def __init__(self, backend: Backend, sizes: Sizes):
        self.base: BaselineDb = backend.baseline("big")
        self.added: dict[str, Document] = {}
        with self.base.transaction() as conn:
            create_all(conn, build_tables(deal_set().objects))
            fill(conn, sizes)
        settle(self.base.engine, self.base.schema)

    def add(self, name: str, schema: Document, watch: Stopwatch) -> None:
        self.added[name] = schema
        tables = build_tables(deal_set(self.added).objects)
        if "x-ref" in schema and self.base.dialect == "sqlite":
            self._copy(CopyRebuild(tables, OBJECT, name), watch)
        else:
            self._alter(tables, name, watch)

    def _alter(self, tables: dict[str, Table], name: str, watch: Stopwatch) -> None:
        table = tables[OBJECT]
        dialect = self.base.engine.dialect
        statements = [add_column_sql(dialect, table.name, table.c[name])]
        statements += [create_index_sql(dialect, index) for index in table.indexes
                       if [c.name for c in index.columns] == [name]]
        with watch:
            with self.base.transaction() as conn:
                for sql in statements:
                    conn.exec_driver_sql(sql)

    def _copy(self, rebuild: CopyRebuild, watch: Stopwatch) -> None:
        with watch:
            with self.base.transaction(foreign_keys_off=True) as conn:
                rebuild.run(conn)


@dataclass(frozen=True)
class Case:
    label: str
    prefix: str  # field names are <prefix>_<repetition>
    schema: Callable[[], Document]
    note: str
    sqlite_only: bool = False


CASES = (
    Case("plain", "note", plain_field, "+1 text field vs raw ALTER ADD COLUMN"),
    Case("lookup", "acct", lookup_field, "+1 lookup: table rebuilt (copy of every row) vs raw copy recipe",
         sqlite_only=True),
    Case("indexed", "code", indexed_field, "+1 x-index field vs raw ALTER + CREATE INDEX"),
)


def timed_case(side: TrellisSide | BaselineSide, case: Case) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        side.add(f"{case.prefix}_{i}", case.schema(), watch)
    return run


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    """All cases of this benchmark on one backend (one fill per side, shared by the cases)."""
    ours, theirs = TrellisSide(backend, sizes), BaselineSide(backend, sizes)
    check_same_storage(ours.db, theirs.base)
    results: list[Result] = []
    for case in CASES:
        if case.sqlite_only and backend.name != "sqlite":
            continue
        repeat = sizes.rebuild_repeat if case.label == "lookup" else sizes.repeat
        trellis_s, baseline_s = compare(timed_case(ours, case), timed_case(theirs, case), repeat)
        check_same_storage(ours.db, theirs.base)
        results.append(Result(f"{NAME}/{case.label}", backend.name, trellis_s, baseline_s,
                              f"{case.note}; {sizes.rows:,} rows; best of {repeat}"))
    return results
