"""The dispatcher: delivers what firings left in the ledger, with retries and a dead letter.

A batch is claimed in one short transaction: pending rows that are due (and rows whose
worker's lease ran out: it died mid-batch) become `sending` under a new lease; on PostgreSQL
`FOR UPDATE SKIP LOCKED` lets several workers claim disjoint batches, on SQLite the write lock
makes claiming one-at-a-time. Each row is then delivered on its own and marked in its own
transaction, and only if the lease is still ours — a worker that outlived its lease cannot
overwrite what its successor did.

Each row is performed by its action type (`kind`, see automation.actions). A message goes to
its channel adapter first; the receiver acknowledging it is what makes it `sent`. An atomic
type (update or create a record, create a task) performs inside the transaction that marks the
row sent, so it happens exactly once. Failures the type calls retryable go back to `pending`
with exponential backoff; the others, and the last retry, go to `dead` with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, or_, select, update

from trellis.platform.clock import Clock
from trellis.platform.db import Database, JoinedDatabase
from trellis.platform.outbound import OutboundPolicy
from trellis.platform.secrets import SecretBox
from trellis.runtime.automation.actions import ActionType, Delivery, PerformContext, UnknownActionType, action_type
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.channels import ChannelSettings, DeliveryError
from trellis.runtime.errors import Conflict, RuntimeProblem
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails with a retryable error waits base × 2^(n-1), at most
    `ceiling`; after `max_attempts` the row is dead."""

    max_attempts: int = 6
    base: timedelta = timedelta(seconds=30)
    ceiling: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.ceiling, self.base * (1 << max(0, attempts - 1)))


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0


class Dispatcher:
    """Delivers one tenant's ledger rows; messages over HTTP go only where `outbound` (the
    installation's policy, passed in by whoever composes the dispatcher) allows."""

    def __init__(self, db: Database, registry: Registry, timezone: ZoneInfo, locale: str,
                 clock: Clock, *, hooks: Sequence[WriteHook], secrets: SecretBox, outbound: OutboundPolicy,
                 batch: int = 100,
                 lease: timedelta = timedelta(minutes=5), retry: RetryPolicy = RetryPolicy()):
        self.db = db
        self.outbound = outbound
        self.hooks = hooks  # record actions write through the same hooks as every other write
        self.secrets = secrets  # opens the tenant's channel settings
        self.registry = registry
        self.timezone = timezone
        self.locale = locale
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.retry = retry

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

    def _claim(self, size: int) -> tuple[list[Delivery], datetime]:
        d = deliveries
        now = self.clock()
        lease = now + self.lease
        with self.db.write() as conn:
            due = or_(and_(d.c.status == "pending", d.c.next_attempt_at <= now),
                      and_(d.c.status == "sending", d.c.claimed_until < now))
            rows = conn.execute(select(d.c.id, d.c.kind, d.c.channel, d.c.recipient, d.c.payload, d.c.attempts)
                                .where(due).order_by(d.c.next_attempt_at, d.c.id).limit(size)
                                .with_for_update(skip_locked=True)).all()
            if rows:
                conn.execute(update(d).where(d.c.id.in_([r.id for r in rows]))
                             .values(status="sending", claimed_until=lease, attempts=d.c.attempts + 1))
        return [Delivery(r.id, r.kind, r.channel, r.recipient, json.loads(r.payload), r.attempts + 1)
                for r in rows], lease

    def _deliver(self, delivery: Delivery, lease: datetime) -> str:
        try:
            action = action_type(delivery.kind)
        except UnknownActionType as error:  # a row of a type this version does not know
            return self._failed(delivery, lease, DeliveryError(str(error), retryable=False))
        try:
            if action.atomic:
                return self._perform_atomically(action, delivery, lease)
            action.perform(delivery, self._context(self.db))
        except RuntimeProblem as problem:  # a record changed meanwhile: retry; refused values: they will not change
            details = "; ".join(str(p) for p in problem.problems)
            return self._failed(delivery, lease, DeliveryError(f"{problem.message}{': ' + details if details else ''}",
                                                               retryable=isinstance(problem, Conflict)))
        except DeliveryError as error:
            return self._failed(delivery, lease, error)
        with self.db.write() as conn:  # a lease lost meanwhile leaves the row to its new holder
            self._mark(conn, delivery, lease, status="sent", sent_at=self.clock(), last_error=None)
        return "sent"

    def _perform_atomically(self, action: ActionType, delivery: Delivery, lease: datetime) -> str:
        """Perform and mark the row sent in one transaction: both happen, or neither."""
        with self.db.write() as conn:
            if not self._still_ours(conn, delivery, lease):
                return "dead"  # another worker took it over after our lease ran out
            with conn.begin_nested():
                action.perform(delivery, self._context(JoinedDatabase(self.db, conn)))
            self._mark(conn, delivery, lease, status="sent", sent_at=self.clock(), last_error=None)
            return "sent"

    def _context(self, db: Database) -> PerformContext:
        def records(depth: int) -> RecordsService:
            return RecordsService(db, self.registry, self.timezone.key, self.locale, self.clock, hooks=self.hooks,
                                  depth=depth)

        return PerformContext(db, self.registry, self.timezone, self.locale, self.clock,
                              ChannelSettings(db, self.secrets, self.clock, outbound=self.outbound), records,
                              self.outbound)

    def _failed(self, delivery: Delivery, lease: datetime, error: DeliveryError) -> str:
        attempts = delivery.attempts
        retry = error.retryable and attempts < self.retry.max_attempts
        with self.db.write() as conn:
            if retry:
                self._mark(conn, delivery, lease, status="pending", last_error=f"attempt {attempts}: {error.reason}",
                           next_attempt_at=self.clock() + self.retry.delay(attempts), claimed_until=None)
                return "retrying"
            why = error.reason if not error.retryable else f"gave up after {attempts} attempts: {error.reason}"
            self._mark(conn, delivery, lease, status="dead", last_error=why, claimed_until=None)
            return "dead"

    @staticmethod
    def _still_ours(conn: Connection, delivery: Delivery, lease: datetime) -> bool:
        d = deliveries
        return conn.execute(select(d.c.id).where(d.c.id == delivery.id, d.c.status == "sending",
                                                 d.c.claimed_until == lease).with_for_update()).first() is not None

    @staticmethod
    def _mark(conn: Connection, delivery: Delivery, lease: datetime, **values: Any) -> bool:
        d = deliveries
        done = conn.execute(update(d).where(d.c.id == delivery.id, d.c.status == "sending",
                                            d.c.claimed_until == lease).values(**values))
        return done.rowcount == 1
