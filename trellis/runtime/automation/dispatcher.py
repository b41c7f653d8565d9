"""The dispatcher: delivers what firings left in the ledger, with retries and a dead letter.

A batch is claimed in one short transaction: pending rows that are due (and rows whose
worker's lease ran out: it died mid-batch) become `sending` under a new lease; on PostgreSQL
`FOR UPDATE SKIP LOCKED` lets several workers claim disjoint batches, on SQLite the write lock
makes claiming one-at-a-time. Each row is then delivered on its own and marked in its own
transaction, and only if the lease is still ours — a worker that outlived its lease cannot
overwrite what its successor did.

A message goes to its channel adapter; the receiver acknowledging it is what makes it `sent`.
A record action (update or create a record, create a task) runs through the records service
inside the transaction that marks the row sent, so it happens exactly once. Failures the
channel calls retryable go back to `pending` with exponential backoff; the others, and the
last retry, go to `dead` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, or_, select, update

from trellis.platform.db import Database, JoinedDatabase
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.channels import ChannelSettings, DeliveryError, OutgoingMessage
from trellis.runtime.errors import Conflict, RuntimeProblem
from trellis.runtime.inbox.tables import notifications, tasks
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry

RECORD_ACTIONS = frozenset({"update_record", "create_record", "create_task", "start_approval"})


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails with a retryable error waits base × 2^(n-1), at most
    `ceiling`; after `max_attempts` the row is dead."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.ceiling, self.base * (2 ** max(0, attempts - 1)))


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0


class Dispatcher:
    """Delivers one tenant's ledger rows."""

    def __init__(self, db: Database, registry: Registry, timezone: ZoneInfo, locale: str,
                 clock: Callable[[], datetime], *, hooks: Sequence[WriteHook], batch: int = 100,
                 lease: timedelta = timedelta(minutes=5), retry: RetryPolicy = RetryPolicy()):
        self.db = db
        self.hooks = hooks  # record actions write through the same hooks as every other write
        self.registry = registry
        self.timezone = timezone
        self.locale = locale
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.retry = retry
        self.channels = ChannelSettings(db)

    def run(self, limit: int | None = None) -> DispatchReport:
        """Claim and deliver batches until nothing is due (or `limit` rows were claimed)."""
        report = DispatchReport()
        while limit is None or report.claimed < limit:
            rows, lease = self._claim(self.batch if limit is None else min(self.batch, limit - report.claimed))
            if not rows:
                break
            report.claimed += len(rows)
            for row in rows:
                outcome = self._deliver(row, lease)
                setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _claim(self, size: int) -> tuple[list[Mapping[str, Any]], datetime]:
        d = deliveries
        now = self.clock()
        lease = now + self.lease
        with self.db.write() as conn:
            due = or_(and_(d.c.status == "pending", d.c.next_attempt_at <= now),
                      and_(d.c.status == "sending", d.c.claimed_until < now))
            rows = conn.execute(select(d).where(due).order_by(d.c.next_attempt_at, d.c.id).limit(size)
                                .with_for_update(skip_locked=True)).mappings().all()
            if rows:
                conn.execute(update(d).where(d.c.id.in_([r["id"] for r in rows]))
                             .values(status="sending", claimed_until=lease, attempts=d.c.attempts + 1))
        return [{**r, "attempts": r["attempts"] + 1} for r in rows], lease

    def _deliver(self, row: Mapping[str, Any], lease: datetime) -> str:
        payload = json.loads(row["payload"])
        if row["channel"] in RECORD_ACTIONS:
            return self._act(row, payload, lease)
        message = OutgoingMessage(id=row["id"], channel=row["channel"], recipient=row["recipient"],
                                  subject=payload.get("subject", ""), body=payload.get("body", ""), data=payload)
        try:
            self.channels.channel(row["channel"]).send(message)
        except DeliveryError as error:
            return self._failed(row, lease, error)
        with self.db.write() as conn:  # a lease lost meanwhile leaves the row to its new holder
            self._mark(conn, row, lease, status="sent", sent_at=self.clock(), last_error=None)
        return "sent"

    def _act(self, row: Mapping[str, Any], payload: Mapping[str, Any], lease: datetime) -> str:
        try:
            with self.db.write() as conn:
                if not self._still_ours(conn, row, lease):
                    return "dead"  # another worker took it over after our lease ran out
                with conn.begin_nested():
                    self._perform(conn, row, payload)
                self._mark(conn, row, lease, status="sent", sent_at=self.clock(), last_error=None)
                return "sent"
        except RuntimeProblem as problem:  # a record changed meanwhile: retry; refused values: they will not change
            details = "; ".join(str(p) for p in problem.problems)
            return self._failed(row, lease, DeliveryError(f"{problem.message}{': ' + details if details else ''}",
                                                          retryable=isinstance(problem, Conflict)))
        except DeliveryError as error:
            return self._failed(row, lease, error)

    def _perform(self, conn: Connection, row: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        kind = row["channel"]
        if kind == "start_approval":
            raise DeliveryError(f"approval process '{payload['process']}' cannot start: approvals are not "
                                "available in this installation yet", retryable=False)
        if kind == "create_task":
            self._create_task(conn, row, payload)
            return
        records = RecordsService(JoinedDatabase(self.db, conn), self.registry, self.timezone.key, self.locale,
                                 self.clock, hooks=self.hooks, depth=payload.get("depth", 1))
        if kind == "update_record":
            records.update(Actor.system(), payload["object"], payload["id"], payload["values"])
        else:
            records.create_many(Actor.system(), payload["object"], [payload["values"]])

    def _create_task(self, conn: Connection, row: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        now = self.clock()
        task_id = new_id()
        conn.execute(tasks.insert().values(
            id=task_id, title=payload["title"], description=payload.get("description") or "",
            assignee_id=payload.get("assignee_id"), object=payload.get("object"), record_id=payload.get("record_id"),
            due_date=date.fromisoformat(payload["due_date"]) if payload.get("due_date") else None,
            status="open", delivery_id=row["id"], created_at=now, completed_at=None))
        if payload.get("assignee_id"):
            conn.execute(notifications.insert().values(
                id=new_id(), user_id=payload["assignee_id"], title=payload["title"],
                body=payload.get("description") or "", object=payload.get("object"),
                record_id=payload.get("record_id"), delivery_id=None, created_at=now, read_at=None))

    def _failed(self, row: Mapping[str, Any], lease: datetime, error: DeliveryError) -> str:
        attempts = row["attempts"]
        retry = error.retryable and attempts < self.retry.max_attempts
        with self.db.write() as conn:
            if retry:
                self._mark(conn, row, lease, status="pending", last_error=f"attempt {attempts}: {error.reason}",
                           next_attempt_at=self.clock() + self.retry.delay(attempts), claimed_until=None)
                return "retrying"
            why = error.reason if not error.retryable else f"gave up after {attempts} attempts: {error.reason}"
            self._mark(conn, row, lease, status="dead", last_error=why, claimed_until=None)
            return "dead"

    @staticmethod
    def _still_ours(conn: Connection, row: Mapping[str, Any], lease: datetime) -> bool:
        d = deliveries
        return conn.execute(select(d.c.id).where(d.c.id == row["id"], d.c.status == "sending",
                                                 d.c.claimed_until == lease).with_for_update()).first() is not None

    @staticmethod
    def _mark(conn: Connection, row: Mapping[str, Any], lease: datetime, **values: Any) -> bool:
        d = deliveries
        done = conn.execute(update(d).where(d.c.id == row["id"], d.c.status == "sending", d.c.claimed_until == lease)
                            .values(**values))
        return done.rowcount == 1
