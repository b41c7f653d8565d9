"""Tenants, isolated physically: a SQLite file or a PostgreSQL schema each.

The control database holds only the tenant registry. A tenant's rows live in its own file or
schema, so no query can reach another tenant's rows by construction. `Installation` is the
one object that knows the settings, owns the engines and hands out each tenant's `Database`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine, insert, select

from trellis.platform import migrations
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database, postgresql_engine, quote_schema, sqlite_engine
from trellis.platform.files import private_dir, private_file
from trellis.platform.secrets import SecretBox
from trellis.platform.settings import Settings, check_locale, check_timezone
from trellis.platform.system_tables import tenants as tenants_table

CONTROL_SCHEMA = "trellis_control"
TENANT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
TENANT_NAME_MAX = 40

class TenantError(ValueError):
    """A tenant request that cannot be met; the message says why."""


@dataclass(frozen=True)
class Tenant:
    name: str
    timezone: str
    locale: str
    location: str  # PostgreSQL schema name, or the SQLite file path
    created_at: datetime


def check_tenant_name(name: str) -> str:
    if len(name) > TENANT_NAME_MAX or not TENANT_NAME.match(name):
        raise TenantError(
            f"tenant name {name!r}: expected a lowercase slug of at most {TENANT_NAME_MAX} "
            "characters: letters, digits and single hyphens, starting with a letter (e.g. acme-cn)"
        )
    return name


class Installation:
    """One Trellis installation: its settings, engines, control database and tenants."""

    def __init__(self, settings: Settings, clock: Clock = utc_now):
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._engines: dict[str, Engine] = {}
        self._databases: dict[str, Database] = {}
        self._control_ready = False
        self.control = self._open_control()

    # -- databases -------------------------------------------------------------------------

    def _engine(self, key: str, factory: Callable[[], Engine]) -> Engine:
        with self._lock:
            if key not in self._engines:
                self._engines[key] = factory()
            return self._engines[key]

    def _open_control(self) -> Database:
        if self.settings.is_postgresql:
            url = self.settings.database_url
            assert url is not None
            return Database(self._engine(url, lambda: postgresql_engine(url)), CONTROL_SCHEMA)
        path = private_file(private_dir(self.settings.data_dir) / "control.db")
        return Database(self._engine(str(path), lambda: sqlite_engine(path)))

    def _tenant_database(self, location: str) -> Database:
        if self.settings.is_postgresql:
            return Database(self.control.engine, location)
        path = Path(location)
        if not path.exists():
            raise TenantError(f"the tenant's database {path} is missing; restore it from a backup")
        return Database(self._engine(location, lambda: sqlite_engine(private_file(path))))

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
            self._databases.clear()

    # -- lifecycle -------------------------------------------------------------------------

    @cached_property
    def secrets(self) -> SecretBox:
        """The installation key's box, for secrets stored in tenant databases."""
        return SecretBox.for_installation(self.settings.data_dir, self.settings.secret_key)

    def init(self) -> None:
        """Create (or bring up to date) the control database and the installation key. Safe to run again."""
        self.secrets  # noqa: B018 - made now (0600 key file), not by the first message sent
        with self.control.write() as conn:
            if self.control.schema:
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote_schema(self.control.schema)}")
            migrations.upgrade(conn, "control", self.control.schema)
        self._control_ready = True

    def migrate(self) -> dict[str, str | None]:
        """Upgrade the control database and every tenant; returns each tenant's revision."""
        self.init()
        revisions: dict[str, str | None] = {}
        for tenant in self.tenants():
            db = self.database(tenant.name)
            with db.write() as conn:
                revisions[tenant.name] = migrations.upgrade(conn, "tenant", db.schema)
        return revisions

    def create_tenant(self, name: str, timezone_name: str | None = None, locale: str | None = None) -> Tenant:
        """Register a tenant and create its schema or file with every system table.

        The tenant is registered only after its storage is fully migrated, so a failure leaves
        neither a registry row nor a half-built schema (PostgreSQL rolls the DDL back; on SQLite
        the file is built under a temporary name and moved into place).
        """
        check_tenant_name(name)
        tz = check_timezone(timezone_name or self.settings.default_timezone)
        loc = check_locale(locale or self.settings.default_locale)
        self.init()
        if self.find_tenant(name) is not None:
            raise TenantError(f"tenant {name!r} already exists")
        created_at = self.clock()
        if self.settings.is_postgresql:
            location = "tenant_" + name.replace("-", "_")
            with self.control.write() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {quote_schema(location)}")
                conn.exec_driver_sql(f"SET LOCAL search_path TO {quote_schema(location)}")
                migrations.upgrade(conn, "tenant", location)
                conn.exec_driver_sql(f"SET LOCAL search_path TO {quote_schema(CONTROL_SCHEMA)}")
                conn.execute(insert(tenants_table).values(
                    name=name, timezone=tz, locale=loc, location=location, created_at=created_at))
        else:
            location = str(self._build_sqlite_tenant(name))
            with self.control.write() as conn:
                conn.execute(insert(tenants_table).values(
                    name=name, timezone=tz, locale=loc, location=location, created_at=created_at))
        return Tenant(name, tz, loc, location, created_at)

    def _build_sqlite_tenant(self, name: str) -> Path:
        folder = private_dir(self.settings.data_dir / "tenants")
        final = folder / f"{name}.db"
        if final.exists():
            raise TenantError(f"tenant {name!r}: {final} exists but is not registered; move it aside first")
        building = folder / f".{name}.building.db"
        for leftover in folder.glob(f".{name}.building.db*"):
            leftover.unlink()
        engine = sqlite_engine(private_file(building))
        try:
            db = Database(engine)
            with db.write() as conn:
                migrations.upgrade(conn, "tenant", None)
            with engine.connect() as conn:  # fold the WAL back so one file moves whole
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            engine.dispose()
            for leftover in folder.glob(f".{name}.building.db*"):
                leftover.unlink()
            raise
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        building.rename(final)
        return final

    # -- lookup ----------------------------------------------------------------------------

    def tenants(self) -> list[Tenant]:
        self.init_if_missing()
        with self.control.read() as conn:
            rows = conn.execute(select(tenants_table).order_by(tenants_table.c.name)).all()
        return [Tenant(**row._mapping) for row in rows]

    def find_tenant(self, name: str) -> Tenant | None:
        self.init_if_missing()
        with self.control.read() as conn:
            row = conn.execute(select(tenants_table).where(tenants_table.c.name == name)).first()
        return Tenant(**row._mapping) if row else None

    def tenant(self, name: str) -> Tenant:
        found = self.find_tenant(name)
        if found is None:
            known = ", ".join(t.name for t in self.tenants()) or "none yet"
            raise TenantError(f"no tenant named {name!r} (tenants: {known}); create it with `trellis tenant create {name}`")
        return found

    def database(self, name: str) -> Database:
        """The tenant's own database (cached per installation)."""
        with self._lock:
            cached = self._databases.get(name)
        if cached is not None:
            return cached
        db = self._tenant_database(self.tenant(name).location)
        with self._lock:
            return self._databases.setdefault(name, db)

    def init_if_missing(self) -> None:
        if not self._control_ready:
            self.init()
