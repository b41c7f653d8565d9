"""Database engines and the transaction discipline every caller uses.

A `Database` is one physical place for rows: a SQLite file or one PostgreSQL schema. All work
goes through `read()` or `write()`, which open exactly one transaction:

* SQLite runs with WAL, `synchronous=NORMAL`, `foreign_keys=ON` and a busy timeout. The pysqlite
  driver's own implicit transaction handling is switched off and we emit BEGIN ourselves
  (SQLAlchemy's documented recipe), so `write()` can take the write lock up front with
  `BEGIN IMMEDIATE` instead of failing on lock upgrade half-way through.
* PostgreSQL pins the schema with `SET LOCAL search_path` inside the transaction, so a pooled
  connection never carries one tenant's search path into another tenant's request.
* A database handed to request handlers (`with_statement_timeout`) limits how long each statement
  of its transactions may run (statement_timeout.py); the CLI's imports and migrations run
  without that limit.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from trellis.platform.statement_timeout import restart_each_statement, statement_timeout

SQLITE_BUSY_TIMEOUT_MS = 10_000
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class IntegrityViolation(RuntimeError):
    """A consistency check failed; the transaction was rolled back."""


def sqlite_engine(path: Path) -> Engine:
    """An engine for one SQLite file, with our pragmas and explicit BEGIN handling."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        dbapi_connection.create_function("trellis_local_date", 2, _local_date, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    restart_each_statement(engine)
    return engine


def _local_date(stored: str | None, zone: str) -> str | None:
    """SQLite function: the tenant-local calendar date of a UTC date-time as SQLAlchemy stores
    it ('YYYY-MM-DD HH:MM:SS[.ffffff]'); SQLite itself knows no time zones."""
    if stored is None:
        return None
    instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(zone)).date().isoformat()


def postgresql_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # Plan every statement for its parameters: psycopg prepares repeated statements, and a
    # generic plan made while a table was small (a sequential scan) would stay in use as the
    # table grows into the millions during a bulk import.
    return create_engine(parsed, pool_pre_ping=True,
                         connect_args={"options": "-c plan_cache_mode=force_custom_plan"})


def quote_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"not a valid schema name: {schema!r}")
    return f'"{schema}"'


class Database:
    """One tenant's (or the control registry's) rows: a SQLite file or a PostgreSQL schema."""

    def __init__(self, engine: Engine, schema: str | None = None, statement_timeout_ms: int | None = None):
        self.engine = engine
        self.schema = schema
        self.statement_timeout_ms = statement_timeout_ms or None  # 0: no limit
        if (schema is None) != (engine.dialect.name == "sqlite"):
            raise ValueError("a PostgreSQL database needs a schema; a SQLite one has none")

    def with_statement_timeout(self, timeout_ms: int | None) -> Database:
        """The same rows, each statement of a transaction stopped after `timeout_ms` (None or 0:
        no limit) with StatementTimeout; for request handlers."""
        return Database(self.engine, self.schema, timeout_ms)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def __repr__(self) -> str:
        where = self.schema or self.engine.url.database
        return f"<Database {self.dialect}:{where}>"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (deferred on SQLite, so readers never block the writer)."""
        with self.engine.connect() as conn:
            with conn.begin(), self._started(conn):
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin(), self._started(conn):
                yield conn

    @contextmanager
    def write_for_table_rebuild(self) -> Iterator[Connection]:
        """A write transaction in which SQLite tables may be rebuilt (copied, dropped, renamed).

        With foreign keys on, SQLite turns DROP TABLE into a DELETE that cascades into child
        tables; the pragma only takes effect outside a transaction, so it is switched off before
        BEGIN and back on after. Whoever rebuilds a table must call `check_foreign_keys` for it
        before the transaction ends.
        """
        if self.dialect != "sqlite":
            with self.write() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            raw: sqlite3.Connection | None = conn.connection.driver_connection
            assert raw is not None, "a connection just checked out of the pool has its driver connection"
            raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.execution_options(sqlite_begin="IMMEDIATE").begin(), self._started(conn):
                    yield conn
            finally:
                raw.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def _started(self, conn: Connection) -> Iterator[None]:
        """What every transaction sets up once begun: the schema, and the statement time limit
        (on PostgreSQL both in one round trip)."""
        schema = quote_schema(self.schema) if self.schema is not None else None
        if self.statement_timeout_ms is None:
            if schema is not None:
                conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
            yield
            return
        with statement_timeout(conn, self.statement_timeout_ms, search_path=schema):
            yield

    def table_names(self) -> set[str]:
        from sqlalchemy import inspect

        with self.read() as conn:
            return set(inspect(conn).get_table_names(schema=self.schema))


class JoinedDatabase(Database):
    """A database whose `read()`/`write()` join a transaction that is already open (as a
    savepoint), so work done through a service — a workflow action's record write — commits or
    rolls back with the caller's own rows (the delivery that caused it)."""

    def __init__(self, db: Database, conn: Connection):
        super().__init__(db.engine, db.schema)
        self.conn = conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        yield self.conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.conn.begin_nested():
            yield self.conn

    @contextmanager
    def write_for_table_rebuild(self) -> Iterator[Connection]:
        raise RuntimeError("tables are never rebuilt inside another transaction")
        yield self.conn  # pragma: no cover


def check_foreign_keys(conn: Connection, table: str) -> None:
    """After a SQLite table rebuild: every row of `table` and of the tables that reference it
    must still satisfy its foreign keys. Checks only those tables, not the whole database."""
    names = [row[0] for row in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    involved = {table} | {
        name for name in names
        if any(fk[2] == table for fk in conn.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")'))
    }
    for name in sorted(involved):
        problems = conn.exec_driver_sql(f'PRAGMA foreign_key_check("{name}")').fetchall()
        if problems:
            raise IntegrityViolation(f"foreign key check failed after rebuilding {table}: {problems[:5]}")


@contextmanager
def throwaway_postgres_database(server_url: str, prefix: str = "trellis_scratch") -> Iterator[str]:
    """CREATE a brand-new database on a PostgreSQL server, yield its URL, DROP it afterwards
    (even after a failure). For tests and benchmarks, which each need a clean database."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = make_url(server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
