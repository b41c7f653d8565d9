"""A rule firing for one record: re-check the condition, work out every side effect, record it.

`Planner.plan` turns a `Firing` into a `Plan`: fired (with the deliveries it causes: each
message to each recipient rendered, each record action's values evaluated), skipped (and why)
or failed (and why). Nothing is sent here. `Planner.record` writes plans to the run history
and the delivery ledger in the caller's transaction; the unique keys there make a second
recording of the same firing a no-op, which is what lets several schedulers, a restart or a
re-run see the same due reminder without sending it twice. Preview calls `plan` and stops.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from trellis.platform.ids import new_id
from trellis.runtime.automation.rules import CompiledAction, CompiledWorkflowRule
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.identity.tables import user_roles, users
from trellis.runtime.records.related import compute_live, fetch_related
from trellis.runtime.registry import Registry
from trellis.runtime.templates import TemplateError, Templates
from trellis.runtime.values.coercion import to_json


@dataclass(frozen=True)
class Firing:
    """A rule meeting one record at one instant."""

    rule: CompiledWorkflowRule
    record: Mapping[str, Any]  # stored values, live formulas computed
    related: Mapping[str, Mapping[str, Any] | None]  # lookup field -> related record
    trigger: str  # created, updated, deleted, date, schedule
    due_at: datetime
    step: str = ""  # '-30d' for a date rule's offset
    offset: int | None = None
    anchor: str | None = None  # the date value a date rule fired for

    @property
    def record_id(self) -> str:
        return str(self.record.get("id") or "")


@dataclass(frozen=True)
class PlannedDelivery:
    action: int
    channel: str
    recipient: str
    payload: Mapping[str, Any]


@dataclass
class Plan:
    firing: Firing
    outcome: str  # fired, skipped, failed
    reason: str | None = None
    deliveries: list[PlannedDelivery] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str


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
        self.templates = Templates(locale, context.timezone)
        self._people: dict[str, Person | None] = {}
        self._roles: dict[str, list[Person]] = {}
        self._emails: dict[str, str | None] = {}  # email -> user id

    # -- reading records -----------------------------------------------------------------------

    def prepare(self, compiled: CompiledObject, rows: Sequence[Mapping[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
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
        for action in rule.actions:
            try:
                plan.deliveries.extend(self._action(firing, action))
            except (EvaluationError, TemplateError) as error:
                return Plan(firing, "failed", f"action {action.index + 1} ({action.type}): {error}")
        return plan

    def _action(self, firing: Firing, action: CompiledAction) -> list[PlannedDelivery]:
        spec, kind = action.spec, action.type
        record = firing.record
        about = {"object": firing.rule.object, "record_id": firing.record_id}
        if kind == "notify":
            return self._messages(firing, action)
        if kind == "webhook":
            payload = {"event": spec.get("event", firing.rule.name), "rule": firing.rule.name, **about,
                       "trigger": firing.trigger, "due_at": to_json(firing.due_at),
                       "record": {k: to_json(v) for k, v in record.items()}}
            return [PlannedDelivery(action.index, "webhook", spec["url"], payload)]
        if kind == "update_record":
            target = spec.get("target", "record")
            if target == "record":
                object_name, target_id = firing.rule.object, firing.record_id
            else:
                object_name = self.registry.objects[firing.rule.object].fields[target].ref or ""
                target_id = record.get(target) or ""
                if not target_id:
                    return []  # nothing to update: the lookup is blank
            payload = {"object": object_name, "id": target_id, "values": self._values(firing, action),
                       "depth": self.depth + 1}
            return [PlannedDelivery(action.index, "update_record", target_id, payload)]
        if kind == "create_record":
            payload = {"object": spec["object"], "values": self._values(firing, action), "source": about,
                       "depth": self.depth + 1}
            return [PlannedDelivery(action.index, "create_record", "", payload)]
        if kind == "create_task":
            assignees = self._people_for(firing, spec["assignee"])
            due = None
            if "due_in_days" in spec:
                due = (self.context.today + timedelta(days=spec["due_in_days"])).isoformat()
            out = []
            for person in assignees or [None]:
                context = self._template_context(firing, person)
                payload = {"title": self.templates.render(spec["title"], context),
                           "description": self.templates.render(spec.get("description", ""), context)
                           if spec.get("description") else "",
                           "assignee_id": person.id if person else None, "due_date": due, **about}
                out.append(PlannedDelivery(action.index, "create_task", person.id if person else "", payload))
            return out
        if kind == "start_approval":
            return [PlannedDelivery(action.index, "start_approval", "", {"process": spec["process"], **about})]
        raise EvaluationError(f"{kind} cannot run after a save")  # set_fields/reject: before-save only

    def _values(self, firing: Firing, action: CompiledAction) -> dict[str, Any]:
        return {name: to_json(evaluate(expr, firing.record, firing.related, self.context))
                for name, expr in action.values.items()}

    def _messages(self, firing: Firing, action: CompiledAction) -> list[PlannedDelivery]:
        spec = action.spec
        channel = spec["channel"]
        out: list[PlannedDelivery] = []
        seen: set[str] = set()
        for target in spec["to"]:
            for address, person in self._addresses(firing, channel, target):
                if address in seen:
                    continue  # named twice (a role and a user field): one message
                seen.add(address)
                context = self._template_context(firing, person, address)
                subject = self.templates.render(spec["subject"], context) if spec.get("subject") else firing.rule.title(self.locale)
                payload = {"subject": subject, "body": self.templates.render(spec["body"], context),
                           "object": firing.rule.object, "record_id": firing.record_id,
                           "recipient_name": person.name if person else address}
                out.append(PlannedDelivery(action.index, channel, address, payload))
        return out

    def _addresses(self, firing: Firing, channel: str, target: Mapping[str, Any]) -> list[tuple[str, Person | None]]:
        """Where one recipient entry sends to on a channel: (address, person when it is a user)."""
        (key, value), = target.items()
        if key in ("user_field", "role"):
            people = self._people_for(firing, target)
            if channel == "in_app":
                return [(p.id, p) for p in people]
            if channel == "email":
                return [(p.email, p) for p in people]
            return []  # users have no phone number or WeCom robot: name those with field/address
        address = self._read_path(firing, value) if key == "field" else value
        if address is None or str(address).strip() == "":
            return []
        address = str(address).strip()
        if channel == "in_app":
            person = self._person_by_email(address) if "@" in address else self._person(address)
            return [(person.id, person)] if person else []
        return [(address, None)]

    # -- people --------------------------------------------------------------------------------

    def _people_for(self, firing: Firing, target: Mapping[str, Any]) -> list[Person]:
        (key, value), = target.items()
        if key == "role":
            return self._role(value)
        if key == "user":
            person = self._person_by_email(value)
            return [person] if person else []
        user_id = self._read_path(firing, value)
        person = self._person(str(user_id)) if user_id else None
        return [person] if person else []

    @staticmethod
    def _read_path(firing: Firing, path: str) -> Any:
        base, _, attr = path.partition(".")
        if not attr:
            return firing.record.get(base)
        related = firing.related.get(base)
        return related.get(attr) if related else None

    def _person(self, user_id: str) -> Person | None:
        if user_id not in self._people:
            row = self.conn.execute(select(users.c.id, users.c.email, users.c.name).where(
                users.c.id == user_id, users.c.active.is_(True))).first()
            self._people[user_id] = Person(row.id, row.email, row.name) if row else None
        return self._people[user_id]

    def _person_by_email(self, email: str) -> Person | None:
        key = email.strip().lower()
        if key not in self._emails:
            row = self.conn.execute(select(users.c.id).where(users.c.email == key)).first()
            self._emails[key] = row.id if row else None
        user_id = self._emails[key]
        return self._person(user_id) if user_id else None

    def _role(self, role: str) -> list[Person]:
        if role not in self._roles:
            rows = self.conn.execute(select(users.c.id, users.c.email, users.c.name)
                                     .join(user_roles, user_roles.c.user_id == users.c.id)
                                     .where(user_roles.c.role == role, users.c.active.is_(True))
                                     .order_by(users.c.email))
            self._roles[role] = [Person(r.id, r.email, r.name) for r in rows]
        return self._roles[role]

    def _template_context(self, firing: Firing, person: Person | None, address: str | None = None) -> dict[str, Any]:
        """What a template sees: the record, its related records by lookup field, the rule, the
        recipient (name is blank for a plain address), the offset and due instant of a date rule."""
        due_local = firing.due_at.astimezone(self.context.timezone)
        return {
            "record": firing.record,
            "related": {k: v or {} for k, v in firing.related.items()},
            "rule": {"name": firing.rule.name, "label": firing.rule.title(self.locale)},
            "recipient": {"name": person.name if person else None, "email": person.email if person else None,
                          "address": address or (person.email if person else None)},
            "offset": firing.offset,
            "due": due_local,
            "today": self.context.today,
        }

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
                       "step": p.firing.step, "due_at": p.firing.due_at, "action": d.action, "channel": d.channel,
                       "recipient": d.recipient, "payload": json.dumps(d.payload, ensure_ascii=False, default=str),
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


