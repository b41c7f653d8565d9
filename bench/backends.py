"""Fresh places to benchmark in: Trellis tenants and bare baseline databases, on SQLite or PostgreSQL.

Both sides of a pair get equally fresh, equally configured storage. On SQLite every tenant and
every baseline is its own file under one temporary folder, opened with Trellis's engine settings
(WAL, synchronous=NORMAL), so the ratio measures Trellis's own work and not a durability setting.
On PostgreSQL each benchmark gets a brand-new database (dropped afterwards); inside it a tenant is
a schema, as in production, and each baseline is a fresh schema next to it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import make_url

from bench.raw import storage_of
from trellis.platform.db import (
    Database,
    postgresql_engine,
    quote_schema,
    sqlite_engine,
    throwaway_postgres_database,
)
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation

POSTGRES_ENV = ("TRELLIS_BENCH_POSTGRES_URL", "TRELLIS_TEST_POSTGRES_URL")
DATABASES = ("sqlite", "postgresql")


def postgres_server_url() -> str | None:
    """The server to create benchmark databases on; never printed (it holds a password)."""
    for name in POSTGRES_ENV:
        if os.environ.get(name):
            return os.environ[name]
    return None


class BaselineDb:
    """A bare database (SQLite file or PostgreSQL schema) for the raw-SQLAlchemy side of a pair."""

    def __init__(self, engine: Engine, schema: str | None = None):
        self.engine = engine
        self.schema = schema

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, foreign_keys_off: bool = False) -> Iterator[Connection]:
        """One plain transaction. `foreign_keys_off` is SQLite's documented table-rebuild recipe:
        the pragma only works outside a transaction, so it goes to the driver before BEGIN."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection if self.dialect == "sqlite" else None
            if raw is not None and foreign_keys_off:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    if self.schema is not None:
                        conn.exec_driver_sql(f"SET LOCAL search_path TO {quote_schema(self.schema)}")
                    yield conn
            finally:
                if raw is not None and foreign_keys_off:
                    raw.execute("PRAGMA foreign_keys=ON")

    def warm_up(self) -> None:
        """Open the pooled connection now, so connecting is not timed."""
        with self.transaction() as conn:
            conn.exec_driver_sql("SELECT 1")


class Backend:
    """One benchmark's storage: an `Installation` for tenants and a source of baseline databases."""

    name = ""

    def __init__(self, root: Path, settings: Settings):
        self.root = root
        self.installation = Installation(settings)
        self._engines: list[Engine] = []

    def tenant(self, label: str) -> Database:
        """A freshly created tenant's database, its connection already open."""
        self.installation.create_tenant(label)
        db = self.installation.database(label)
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
        return db

    def baseline(self, label: str) -> BaselineDb:
        raise NotImplementedError

    def close(self) -> None:
        self.installation.dispose()
        for engine in self._engines:
            engine.dispose()


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, root: Path):
        super().__init__(root, Settings(data_dir=root / "trellis", database_url=None))

    def baseline(self, label: str) -> BaselineDb:
        folder = self.root / "baseline"
        folder.mkdir(exist_ok=True)
        engine = sqlite_engine(folder / f"{label}.db")
        self._engines.append(engine)
        db = BaselineDb(engine)
        db.warm_up()
        return db


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, root: Path, database_url: str):
        super().__init__(root, Settings(data_dir=root / "trellis", database_url=database_url))
        self._engine = postgresql_engine(database_url)
        self._engines.append(self._engine)

    def baseline(self, label: str) -> BaselineDb:
        schema = f"base_{label.replace('-', '_')}"
        with self._engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {quote_schema(schema)}")
        db = BaselineDb(self._engine, schema)
        db.warm_up()
        return db


@contextmanager
def open_backend(database: str, server_url: str | None = None) -> Iterator[Backend]:
    """Fresh storage for one benchmark, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="trellis-bench-") as tmp:
        if database == "sqlite":
            backend: Backend = SqliteBackend(Path(tmp))
            try:
                yield backend
            finally:
                backend.close()
            return
        if server_url is None:
            raise ValueError("PostgreSQL needs a server URL")
        with _fresh_postgres_database(server_url) as url:
            backend = PostgresBackend(Path(tmp), url)
            try:
                yield backend
            finally:
                backend.close()


def _fresh_postgres_database(server_url: str):  # type: ignore[no-untyped-def]
    return throwaway_postgres_database(server_url, "trellis_bench")


def server_version(database: str, server_url: str | None) -> str:
    """A short version string for the report header."""
    if database == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    assert server_url is not None
    engine = create_engine(make_url(server_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            return f"PostgreSQL {conn.exec_driver_sql('SHOW server_version').scalar()}"
    finally:
        engine.dispose()


class StorageMismatch(AssertionError):
    """The two sides of a pair did not end with the same tables: the ratio would be meaningless."""


def check_same_storage(db: Database, base: BaselineDb) -> None:
    """Refuse to report a pair whose sides did different work."""
    with db.read() as conn:
        ours = storage_of(conn, db.schema)
    with base.transaction() as conn:
        theirs = storage_of(conn, base.schema)
    if ours != theirs:
        differing = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        raise StorageMismatch(f"Trellis and the baseline differ in {differing[:5]}: "
                              f"{ours.get(differing[0])} != {theirs.get(differing[0])}")
