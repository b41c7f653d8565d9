"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `TRELLIS_TEST_POSTGRES_URL` (a server URL whose user may create
databases; `.ci/run` starts one and sets it). Each test gets a fresh database, dropped after.
Without the variable the PostgreSQL half is skipped locally, and FAILS under CI (CI=true):
a missing server must never pass silently.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from trellis.platform.db import Database
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation

FIXTURES = Path(__file__).parent / "fixtures"
POSTGRES_ENV = "TRELLIS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database for one test."""
    name = f"trellis_test_{uuid.uuid4().hex[:12]}"
    server = make_url(postgres_server_url).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    return Settings(data_dir=tmp_path / "data", database_url=url)


@pytest.fixture
def installation(settings: Settings) -> Iterator[Installation]:
    inst = Installation(settings)
    try:
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def tenant_db(installation: Installation) -> Database:
    """The database of a freshly created tenant named `acme`."""
    installation.create_tenant("acme")
    return installation.database("acme")


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    """Say how many tests ran on each database, so a CI log shows PostgreSQL really ran."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            node = getattr(report, "nodeid", "")
            for backend in ("sqlite", "postgresql"):
                if f"[{backend}" in node or f"-{backend}]" in node or f"-{backend}-" in node:
                    counts.setdefault(backend, {}).setdefault(outcome, 0)
                    counts[backend][outcome] += 1
    for backend, by_outcome in sorted(counts.items()):
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(by_outcome.items()))
        terminalreporter.write_line(f"{backend} database tests: {summary}")
