"""Settings from the environment: the limits of a served installation, checked with messages
that name the variable and say what it expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from trellis.cli import main
from trellis.platform.settings import (
    DEFAULT_GRAPHQL_MAX_COST,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    Settings,
    SettingsError,
)


def test_the_limits_default_and_come_from_the_environment() -> None:
    settings = Settings.from_env({})
    assert (settings.graphql_max_cost, settings.statement_timeout_ms) == (DEFAULT_GRAPHQL_MAX_COST,
                                                                          DEFAULT_STATEMENT_TIMEOUT_MS)
    settings = Settings.from_env({"TRELLIS_GRAPHQL_MAX_COST": "200_000", "TRELLIS_STATEMENT_TIMEOUT_MS": "0"})
    assert (settings.graphql_max_cost, settings.statement_timeout_ms) == (200_000, 0)


@pytest.mark.parametrize("name, value, expected", [
    ("TRELLIS_GRAPHQL_MAX_COST", "lots", "expected a whole number of records per GraphQL request"),
    ("TRELLIS_GRAPHQL_MAX_COST", "0", "at least 1; got 0"),
    ("TRELLIS_STATEMENT_TIMEOUT_MS", "15s", "expected a whole number of milliseconds"),
    ("TRELLIS_STATEMENT_TIMEOUT_MS", "-1", "0 switches the timeout off"),
    ("TRELLIS_DB_THREADS", "0", "threads per server process, such as 2, at least 1; got 0"),
    ("TRELLIS_DB_THREADS", "many", "expected a whole number of threads per server process"),
])
def test_a_bad_value_is_refused_with_its_name(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError, match=name) as caught:
        Settings.from_env({name: value})
    assert expected in str(caught.value)


def test_the_cli_refuses_a_bad_setting_before_doing_anything(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRELLIS_GRAPHQL_MAX_COST", "many")
    assert main(["tenant", "list"]) == 2
    assert "TRELLIS_GRAPHQL_MAX_COST: expected a whole number" in capsys.readouterr().err


def test_worker_processes_get_the_same_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:p@h/db", default_locale="en",
                        graphql_max_cost=123, statement_timeout_ms=456, db_threads=3)
    assert Settings.from_env(settings.environ()) == settings


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_server_runs_at_most_db_threads_threads_at_a_time(tmp_path: Path, anyio_backend: str) -> None:
    """The app's lifespan sets the event loop's thread limiter, which GraphQL, designer and
    workspace work all draw on."""
    import asyncio

    import anyio.to_thread

    from trellis.platform.tenancy import Installation
    from trellis.server.app import create_app

    app = create_app(Installation(Settings(data_dir=tmp_path, db_threads=3)))
    async with app.router.lifespan_context(app):
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == 3
        executor = asyncio.get_running_loop()._default_executor  # type: ignore[attr-defined]  # no public getter
        assert executor is not None and executor._max_workers == 3
        assert Settings.from_env({}).db_threads == 2
