"""A time limit on each database statement of a request's transaction: the second line of
defence behind the GraphQL cost limit (a query that asks for few records can still make the
database scan millions of rows, e.g. `_like` on an unindexed text field).

PostgreSQL enforces it itself: `SET LOCAL statement_timeout` in the transaction (gone when the
transaction ends, so a pooled connection never carries it to a CLI import). SQLite has no such
setting; its progress handler, called every `PROGRESS_STEPS` virtual-machine instructions,
interrupts a statement whose deadline has passed, and a listener on the engine starts each
statement's deadline as the statement starts. Either way the statement fails, the transaction is
rolled back whole, and the caller gets `StatementTimeout` instead of a driver error.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

PROGRESS_STEPS = 1_000  # SQLite VM instructions between two looks at the clock (about a few µs each)
QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for a statement stopped by statement_timeout
_BUDGET = "trellis_statement_budget"  # key in the DBAPI connection's `info` while a limit is on


class StatementTimeout(RuntimeError):
    """A statement ran over the limit and was stopped; its transaction was rolled back."""

    def __init__(self, timeout_ms: int):
        super().__init__(f"a database statement ran longer than {timeout_ms} ms and was stopped "
                         f"(TRELLIS_STATEMENT_TIMEOUT_MS); nothing of this request's transaction was written. "
                         f"Ask for less (smaller pages, a narrower filter), or ask the operator to raise the limit")
        self.timeout_ms = timeout_ms


class _Budget:
    """The deadline of the SQLite statement running now; `check` is the progress handler."""

    def __init__(self, timeout_ms: int):
        self.seconds = timeout_ms / 1000
        self.deadline = math.inf
        self.expired = False

    def restart(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def check(self) -> int:
        """Non-zero interrupts the statement."""
        if time.monotonic() > self.deadline:
            self.expired = True
            return 1
        return 0


def restart_each_statement(engine: Engine) -> None:
    """For a SQLite engine (once, when it is made): each statement of a limited transaction gets
    the whole budget from its start."""

    @event.listens_for(engine, "before_cursor_execute")
    def _restart(conn: Connection, *_: Any) -> None:
        budget = conn.info.get(_BUDGET)
        if budget is not None:
            budget.restart()


@contextmanager
def statement_timeout(conn: Connection, timeout_ms: int, search_path: str | None = None) -> Iterator[None]:
    """Inside an open transaction: stop any statement of it that runs longer than `timeout_ms`,
    raising StatementTimeout (the transaction's rollback is the caller's `begin()`'s).

    PostgreSQL: `search_path` (a quoted schema name), when given, is set for the transaction in
    the same round trip."""
    if conn.dialect.name == "postgresql":
        settings = {"statement_timeout": str(int(timeout_ms)), **({"search_path": search_path} if search_path else {})}
        conn.exec_driver_sql("SELECT " + ", ".join(f"set_config('{name}', '{value}', true)"
                                                   for name, value in settings.items())).close()
        try:
            yield
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
                raise StatementTimeout(timeout_ms) from error
            raise
        return
    raw: sqlite3.Connection | None = conn.connection.driver_connection
    assert raw is not None, "a connection in a transaction has its driver connection"
    budget = _Budget(timeout_ms)
    conn.info[_BUDGET] = budget
    raw.set_progress_handler(budget.check, PROGRESS_STEPS)
    try:
        yield
    except DBAPIError as error:
        if budget.expired:
            raise StatementTimeout(timeout_ms) from error
        raise
    finally:
        raw.set_progress_handler(None, 0)
        conn.info.pop(_BUDGET, None)
