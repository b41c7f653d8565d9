"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `TRELLIS_TEST_POSTGRES_URL` (a server URL whose user may create
databases; `.ci/run` starts one and sets it). Each test gets a fresh database, dropped after.
Without the variable the PostgreSQL half is skipped locally, and FAILS under CI (CI=true):
a missing server must never pass silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trellis.platform.db import Database, throwaway_postgres_database
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
    with throwaway_postgres_database(postgres_server_url, "trellis_test") as url:
        yield url


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
