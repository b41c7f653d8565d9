"""Reading and repairing the run history and the delivery ledger, for admins: what fired (with
its deliveries counted by status), what the ledger holds, and dead letters queued again.

The command line and the designer call these and only format what they return, so both show
the same history and requeue the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, select, update

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.records.related import LOOKUP_BATCH

DELIVERY_STATUSES = ("pending", "sending", "sent", "dead")


@dataclass(frozen=True)
class RuleRun:
    """One firing of a rule for a record, with how its deliveries stand (status -> count)."""

    id: str
    rule: str
    release: int
    object: str
    record_id: str
    trigger: str
    step: str
    anchor: str | None  # the date value a date rule fired for
    due_at: datetime
    fired_at: datetime
    outcome: str  # fired, skipped, failed
    reason: str | None
    deliveries: Mapping[str, int]


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row, without its payload (which may hold personal data)."""

    id: str
    run_id: str
    rule: str
    record_id: str
    step: str
    due_at: datetime
    action: int
    kind: str  # the action type
    channel: str  # the message channel; '' for an action that sends no message
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def run_history(db: Database, *, rule: str | None = None, record_id: str | None = None,
                limit: int = 50) -> list[RuleRun]:
    """The latest firings, newest first (of one rule, of one record, or all)."""
    runs = workflow_runs
    columns = [runs.c[f.name] for f in fields(RuleRun) if f.name != "deliveries"]
    query = select(*columns).order_by(runs.c.fired_at.desc(), runs.c.id.desc()).limit(limit)
    if rule:
        query = query.where(runs.c.rule == rule)
    if record_id:
        query = query.where(runs.c.record_id == record_id)
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
        counts = _delivery_counts(conn, [r["id"] for r in rows])
    return [RuleRun(**row, deliveries=counts.get(row["id"], {})) for row in rows]


def _delivery_counts(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    d = deliveries
    counts: dict[str, dict[str, int]] = {}
    for start in range(0, len(run_ids), LOOKUP_BATCH):
        for row in conn.execute(select(d.c.run_id, d.c.status).where(d.c.run_id.in_(run_ids[start:start + LOOKUP_BATCH]))):
            tally = counts.setdefault(row.run_id, {})
            tally[row.status] = tally.get(row.status, 0) + 1
    return counts


def list_deliveries(db: Database, *, status: str | None = None, limit: int = 50) -> list[LedgerEntry]:
    """The latest ledger rows, newest first (of one status, or all)."""
    if status is not None and status not in DELIVERY_STATUSES:
        raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}; got {status!r}")
    d = deliveries
    query = select(*(d.c[f.name] for f in fields(LedgerEntry))) \
        .order_by(d.c.created_at.desc(), d.c.id.desc()).limit(limit)
    if status:
        query = query.where(d.c.status == status)
    with db.read() as conn:
        return [LedgerEntry(**row) for row in conn.execute(query).mappings()]


def requeue(db: Database, ids: Sequence[str] | None = None, clock: Clock = utc_now) -> int:
    """Dead letters back into the queue — those of `ids`, or all with None — once the cause (a
    wrong address, a gateway down for days) was fixed. Each keeps its ledger key, so nothing
    already sent goes out again. Returns how many were queued."""
    d = deliveries
    where = d.c.status == "dead"
    if ids is not None:
        where = where & d.c.id.in_(list(ids))
    with db.write() as conn:
        done = conn.execute(update(d).where(where).values(status="pending", attempts=0, next_attempt_at=clock(),
                                                          claimed_until=None))
    return int(done.rowcount)
