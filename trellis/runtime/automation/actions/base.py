"""What every action type shares: the firing it plans for, the ledger rows it plans, the claimed
row it performs, what it plans and performs with, and the `ActionType` interface itself.

Planning and performing are apart on purpose: a firing is planned inside the transaction that
saved the record or scanned the rule, and must not reach the outside world (if that transaction
rolls back, nothing may have happened); the dispatcher performs each planned row later, once.
So everything a perform needs is decided at planning — recipients resolved, templates rendered,
values evaluated — and travels in the ledger row's JSON payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select

from trellis.metadata.workflow_rules import ITEM
from trellis.platform.clock import Clock
from trellis.platform.db import Database
from trellis.platform.outbound import OutboundPolicy
from trellis.runtime.automation.actions.readers import Readers
from trellis.runtime.automation.rules import CompiledAction, CompiledWorkflowRule
from trellis.runtime.channels import ChannelSettings
from trellis.runtime.expressions import EvaluationContext, evaluate
from trellis.runtime.identity.people import People, Person
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry
from trellis.runtime.templates import Templates
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

    def about(self) -> dict[str, str]:
        """The record a side effect is about, as payloads carry it."""
        return {"object": self.rule.object, "record_id": self.record_id}


@dataclass(frozen=True)
class PlannedDelivery:
    """One ledger row to be: what one action does for one recipient (or once, without one)."""

    action: int  # the action's position in the rule
    kind: str  # the action type
    channel: str  # the message channel (email, sms, wecom, webhook, in_app); '' for other actions
    recipient: str  # address or user id; '' when the action has none (part of the ledger key)
    payload: Mapping[str, Any]  # JSON: everything `perform` needs, rendered now


@dataclass(frozen=True)
class Delivery:
    """A ledger row the dispatcher claimed, as an action performs it."""

    id: str  # also the idempotency key receivers and inbox rows dedupe on
    kind: str
    channel: str
    recipient: str
    payload: Mapping[str, Any]
    attempts: int  # this attempt included


class PlanContext:
    """What actions plan with, in one transaction of one tenant: the release, the evaluation
    context, the people lookups and their access policies (cached for the whole planning call)
    and the templates."""

    def __init__(self, registry: Registry, context: EvaluationContext, locale: str, people: People, depth: int):
        self.registry = registry
        self.context = context
        self.locale = locale
        self.people = people
        self.readers = Readers(registry, people)
        self.depth = depth  # how many rule-caused writes led here: record actions write with depth + 1
        self.templates = Templates(locale, context.timezone)
        self.notes: list[str] = []  # what planning the current firing had to work around (run history)

    def values(self, firing: Firing, action: CompiledAction, item: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The action's `values` expressions evaluated for the firing's record, as JSON; with
        `item` (a `for_each` child row) they read it as item.<field>."""
        record, related = firing.record, firing.related
        if item is not None:
            record, related = {**record, ITEM: item["id"]}, {**related, ITEM: item}
        return {name: to_json(evaluate(expr, record, related, self.context)) for name, expr in action.values.items()}

    def children(self, firing: Firing, action: CompiledAction) -> list[dict[str, Any]]:
        """The live rows a `for_each` names: of its object, whose lookup `via` holds the firing
        record's `parent` field (its id by default), oldest first."""
        spec = action.spec["for_each"]
        parent = firing.record_id if spec.get("parent", "id") == "id" else firing.record.get(spec["parent"])
        if not parent:
            return []
        table = self.registry.tables[spec["object"]]
        rows = self.people.conn.execute(select(table).where(table.c[spec["via"]] == parent, table.c.deleted_at.is_(None))
                                        .order_by(table.c.created_at, table.c.id)).mappings()
        return [dict(row) for row in rows]

    def people_named(self, firing: Firing, target: Mapping[str, Any]) -> list[Person]:
        """The active users one `{"role"|"user"|"user_field"|"manager_of": …}` entry of a rule names."""
        (key, value), = target.items()
        if key == "role":
            return self.people.in_role(value)
        if key == "user":
            person = self.people.by_email(value)
            return [person] if person else []
        user_id = read_path(firing, value)
        if key == "manager_of":  # whom the named user reports to (an inactive manager: the next one up)
            manager = self.people.manager_of(str(user_id)) if user_id else None
            if manager is None and user_id:
                self.notes.append(f"{value} has no active manager to tell")
            return [manager] if manager else []
        person = self.people.by_id(str(user_id)) if user_id else None
        if person is None and user_id and (gone := self.people.deactivated(str(user_id))) is not None:
            person = self.people.manager_of(gone.id)  # a leaver's work goes to whoever they reported to
            self.notes.append(f"{value} {gone.email} is deactivated: "
                              + (f"their manager {person.email} stands in" if person else "they have no active manager"))
        return [person] if person else []

    def template_context(self, firing: Firing, person: Person | None, address: str | None = None) -> dict[str, Any]:
        """What a template sees: the record and its related records by lookup field as the
        recipient may read them (see readers.py; `person` None: anyone), the rule, the recipient
        (name is blank for a plain address), the offset and due instant of a date rule."""
        due_local = firing.due_at.astimezone(self.context.timezone)
        policy, reader, obj = self.readers.policy(person), person.id if person else None, firing.rule.object
        return {
            "record": self.readers.record(policy, reader, obj, firing.record),
            "related": self.readers.related(policy, reader, obj, firing.record, firing.related),
            "rule": {"name": firing.rule.name, "label": firing.rule.title(self.locale)},
            "recipient": {"name": person.name if person else None, "email": person.email if person else None,
                          "address": address or (person.email if person else None)},
            "offset": firing.offset,
            "due": due_local,
            "today": self.context.today,
        }


def read_path(firing: Firing, path: str) -> Any:
    """`field` of the record or `lookup.field` of a related record (None when the lookup is blank)."""
    base, _, attr = path.partition(".")
    if not attr:
        return firing.record.get(base)
    related = firing.related.get(base)
    return related.get(attr) if related else None


@dataclass(frozen=True)
class PerformContext:
    """What actions perform with. For an `atomic` type `db` is the transaction that marks the
    row sent (joined as a savepoint), and `channels` and `records` write through it too.
    `outbound` is the installation's policy for outgoing HTTP: `channels` send through it, and
    an action that calls out itself passes it to `trellis.runtime.channels.http.send`."""

    db: Database
    registry: Registry
    timezone: ZoneInfo
    locale: str
    clock: Clock
    channels: ChannelSettings
    records: Callable[[int], RecordsService]  # the records service writing at a rule depth
    outbound: OutboundPolicy


class ActionType(Protocol):
    """One kind of workflow action. See the package docstring for how to add one."""

    name: str  # the `type` of the action in a rule
    after_save: bool  # False: applied to the record before it is saved (on_save); never planned
    atomic: bool  # True: performed inside the transaction that marks its ledger row sent

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        """The ledger rows one firing of the action causes ([] for nothing to do). Raise
        EvaluationError or TemplateError when it cannot be planned: the run fails with the reason."""
        ...

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        """Do it. Raise DeliveryError (retryable or not), or let the records service's
        RuntimeProblem through (a Conflict is retried, anything else is a dead letter)."""
        ...
