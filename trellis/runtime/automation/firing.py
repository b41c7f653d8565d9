"""A rule firing for one record: re-check the condition, work out every side effect, record it.

`Planner.plan` turns a `Firing` into a `Plan`: fired (with the deliveries it causes, each
action's planned by its type in automation.actions: each message to each recipient rendered,
each record action's values evaluated), skipped (and why) or failed (and why). Nothing is sent here. `Planner.record` writes plans to the run history
and the delivery ledger in the caller's transaction; the unique keys there make a second
recording of the same firing a no-op, which is what lets several schedulers, a restart or a
re-run see the same due reminder without sending it twice. Preview calls `plan` and stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from trellis.platform.ids import new_id
from trellis.runtime.automation.actions import Firing, PlanContext, PlannedDelivery, action_type
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.identity.people import People
from trellis.runtime.records.related import compute_live, fetch_related
from trellis.runtime.registry import Registry
from trellis.runtime.templates import TemplateError

__all__ = ["Firing", "Plan", "PlannedDelivery", "Planner", "insert_new"]


@dataclass
class Plan:
    firing: Firing
    outcome: str  # fired, skipped, failed
    reason: str | None = None
    deliveries: list[PlannedDelivery] = field(default_factory=list)


class Planner:
    """Plans and records firings within one transaction of one tenant."""

    def __init__(self, conn: Connection, registry: Registry, context: EvaluationContext, locale: str,
                 release: int | None = None, depth: int = 0):
        self.conn = conn
        self.depth = depth  # how many rule-caused writes led here (see on_save.MAX_DEPTH)
        self.registry = registry
        self.context = context
        self.locale = locale
        self.release = registry.release if release is None else release
        self.plan_context = PlanContext(registry, context, locale, People(conn), depth)

    # -- reading records -----------------------------------------------------------------------

    def prepare(self, compiled: CompiledObject,
                rows: Iterable[Mapping[Any, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Each row with its live formulas computed and its related records, read in batches:
        conditions and templates see a record as a reader would."""
        records = [dict(row) for row in rows]
        lookups = [name for name, f in compiled.definition.fields.items() if f.ref is not None]  # templates read any
        related = fetch_related(self.conn, self.registry, compiled, records, lookups)
        for record, links in zip(records, related, strict=True):
            compute_live(compiled, record, links, self.context)
        return list(zip(records, related, strict=True))

    # -- planning ------------------------------------------------------------------------------

    def plan(self, firing: Firing) -> Plan:
        rule = firing.rule
        if rule.condition is not None:
            try:
                holds = evaluate(rule.condition, firing.record, firing.related, self.context)
            except EvaluationError as error:
                return Plan(firing, "failed", f"the condition could not be checked: {error}")
            if not holds:
                return Plan(firing, "skipped", f"condition not met: {rule.condition.source}")
        plan = Plan(firing, "fired")
        self.plan_context.notes = []
        for action in rule.actions:
            try:
                plan.deliveries.extend(action_type(action.type).plan(firing, action, self.plan_context))
            except (EvaluationError, TemplateError) as error:
                return Plan(firing, "failed", f"action {action.index + 1} ({action.type}): {error}")
        if self.plan_context.notes:
            plan.reason = "; ".join(dict.fromkeys(self.plan_context.notes))
        return plan

    # -- recording -----------------------------------------------------------------------------

    def record(self, plans: Sequence[Plan]) -> list[Plan]:
        """Write plans to the run history and their deliveries to the ledger; the plans already
        recorded by someone else (same rule, record, step and due instant) are dropped. Returns
        the plans this call recorded."""
        if not plans:
            return []
        now = self.context.now
        ids = [new_id() for _ in plans]
        runs = [{"id": run_id, "rule": p.firing.rule.name, "release": self.release, "object": p.firing.rule.object,
                 "record_id": p.firing.record_id, "trigger": p.firing.trigger, "step": p.firing.step,
                 "anchor": p.firing.anchor, "due_at": p.firing.due_at, "fired_at": now, "outcome": p.outcome,
                 "reason": p.reason} for run_id, p in zip(ids, plans, strict=True)]
        inserted = set(insert_new(self.conn, workflow_runs, runs, "id"))
        kept = [(run_id, p) for run_id, p in zip(ids, plans, strict=True) if run_id in inserted]
        ledger = [{"id": new_id(), "run_id": run_id, "rule": p.firing.rule.name, "record_id": p.firing.record_id,
                   "step": p.firing.step, "due_at": p.firing.due_at, "action": d.action, "kind": d.kind,
                   "channel": d.channel, "recipient": d.recipient,
                   "payload": json.dumps(d.payload, ensure_ascii=False, default=str),
                   "status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": None,
                   "last_error": None, "created_at": now, "sent_at": None}
                  for run_id, p in kept for d in p.deliveries]
        if ledger:
            insert_new(self.conn, deliveries, ledger, "id")
        return [p for _, p in kept]


def insert_new(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING for each row; the `key` values of the rows inserted.
    A row another transaction holds or committed under the same unique key is left alone
    (PostgreSQL waits for that transaction, then skips the row)."""
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # one statement, executed for many parameter sets: compiled once (cached), sent in batches
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c[key])
    return list(conn.execute(statement, list(rows)).scalars())


