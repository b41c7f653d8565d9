"""Run a storage plan on an open connection, inside the caller's transaction.

The caller (publishing) owns the transaction, so DDL and the release record commit or roll back
together: PostgreSQL has transactional DDL, and SQLite's DDL is transactional too as long as we
issue BEGIN ourselves (see `trellis.platform.db`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Table

from trellis.runtime.storage.plan import StoragePlan
from trellis.runtime.storage.steps import Step, StepContext

StepObserver = Callable[[int, Step], None]


def apply_plan(conn: Connection, plan: StoragePlan, tables: Mapping[str, Table],
               on_step: StepObserver | None = None) -> None:
    """Apply every step in order; `on_step(i, step)` is told after each one (progress output,
    and the tests that prove a failure half-way leaves nothing behind)."""
    ops = Operations(MigrationContext.configure(conn, opts={"render_as_batch": False}))
    ctx = StepContext(conn=conn, ops=ops, tables=tables)
    for i, step in enumerate(plan.steps):
        step.apply(ctx)
        if on_step is not None:
            on_step(i, step)
