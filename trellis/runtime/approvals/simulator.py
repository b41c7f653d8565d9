"""Who would approve this? The approval simulator answers before anything is submitted.

`simulate` reads one record (or draft values, or a record with some values changed), and for a
process of its object says, step by step, whether the step would run or be skipped and why (the
condition and its value), whom it would ask after delegations and the self-approval guard, the
mode and how many approvals decide it, who is away without a usable delegate, and when its
escalation and first reminder would fall due. It runs on a read transaction: nothing is
written, nobody is asked. Salesforce cannot answer this before submitting; we can, because the
engine and the simulator share the resolution (`approvers.resolve`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from trellis.metadata.names import SETTABLE_SYSTEM_FIELDS
from trellis.metadata.suggestions import suggest
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database, JoinedDatabase
from trellis.runtime.access import Actor
from trellis.runtime.approvals.approvers import resolve
from trellis.runtime.approvals.processes import ProcessBook
from trellis.runtime.automation.firing import Planner
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.identity.people import People
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry
from trellis.runtime.values.coercion import CoercionError, coerce


@dataclass(frozen=True)
class SimulatedApprover:
    email: str
    name: str
    stands_in_for: str | None  # the email of the person away, when a delegate is asked


@dataclass(frozen=True)
class SimulatedStep:
    name: str
    label: str
    condition: str | None
    condition_value: bool | None  # None: no condition (the step always runs)
    runs: bool
    mode: str
    needed: int
    approvers: tuple[SimulatedApprover, ...]
    away: tuple[str, ...]  # emails of people named but away with no usable delegate
    notes: tuple[str, ...]
    escalation_at: datetime | None
    escalation_action: str | None
    reminder_at: datetime | None


@dataclass(frozen=True)
class Simulation:
    process: str
    object: str
    record_id: str | None
    release: int
    entry_condition: str | None
    entry_condition_met: bool
    submitter: str  # email, or system
    steps: tuple[SimulatedStep, ...]


def _draft(registry: Registry, object_name: str, values: Mapping[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Draft values read as the records service reads input (a date from its text, money from a
    number or its digits), so conditions see what they would see on the saved record."""
    fields = registry.objects[object_name].fields
    draft: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            if name in SETTABLE_SYSTEM_FIELDS:
                draft[name] = value
            else:
                problems.append(FieldProblem(f"values.{name}", f"{object_name} has no field '{name}'"
                                                               f"{suggest(name, fields)}"))
            continue
        try:
            draft[name] = coerce(field, value, zone)
        except CoercionError as error:
            problems.append(FieldProblem(f"values.{name}", str(error)))
    if problems:
        raise InvalidInput("the draft values are not valid", problems)
    return draft


def simulate(db: Database, registry: Registry, actor: Actor, object_name: str, record_id: str | None,
             values: Mapping[str, Any] | None = None, *, process: str | None = None, submitter: str | None = None,
             timezone: str = "UTC", locale: str = "en", clock: Clock = utc_now) -> Simulation:
    """Simulate `process` (or the object's only process) for a record and/or draft values.
    `submitter` is an email (default: the record's owner, else the caller)."""
    chosen = _process_name(registry, object_name, process)
    compiled = ProcessBook.of(registry.metadata, chosen)
    assert compiled is not None  # _process_name found it
    if record_id is None and not values:
        raise InvalidInput("nothing to simulate", [FieldProblem("id", "give a record id, draft values, or both")])
    context = EvaluationContext(timezone=ZoneInfo(timezone), now=clock())
    with db.read() as conn:
        records = RecordsService(JoinedDatabase(db, conn), registry, timezone, locale, clock)
        record: dict[str, Any] = dict(records.get(actor, object_name, record_id)) if record_id else {}
        record.update(_draft(registry, object_name, values or {}, context.timezone))
        planner = Planner(conn, registry, context, locale)
        (record, related), = planner.prepare(registry.compiled[object_name], [record])
        people = planner.plan_context.people
        who = _submitter(people, submitter, record, actor)
        entry = compiled.entry_condition
        met = True if entry is None else _value(entry, record, related, context, "entry_condition")
        steps = []
        for step in compiled.steps:
            holds = None if step.condition is None else \
                _value(step.condition, record, related, context, f"steps[{step.index}].condition")
            runs = holds is not False
            asked: tuple[SimulatedApprover, ...] = ()
            away: tuple[str, ...] = ()
            notes: tuple[str, ...] = ()
            if runs:
                found = resolve(conn, people, compiled, step, record, related, who, context)
                asked = tuple(SimulatedApprover(a.person.email, a.person.name,
                                                a.delegated_from.email if a.delegated_from else None)
                              for a in found.asked)
                away, notes = tuple(p.email for p in found.away), tuple(found.notes)
            steps.append(SimulatedStep(
                name=step.name, label=step.title(locale), condition=step.condition.source if step.condition else None,
                condition_value=holds, runs=runs, mode=step.mode, needed=step.needed(len(asked)) if runs else 0,
                approvers=asked, away=away, notes=notes,
                escalation_at=context.now + step.escalate_after if runs and step.escalate_after else None,
                escalation_action=step.escalation["action"] if step.escalation else None,
                reminder_at=context.now + step.reminder if runs and step.reminder else None))
        person = people.by_id(who)
        return Simulation(chosen, object_name, record_id, registry.release, entry.source if entry else None, met,
                          person.email if person else who, tuple(steps))


def _process_name(registry: Registry, object_name: str, process: str | None) -> str:
    documents = registry.metadata.documents("approval_process")
    mine = sorted(name for name, doc in documents.items() if doc["object"] == object_name)
    if process is not None:
        if process not in mine:
            raise InvalidInput("no such approval process", [FieldProblem(
                "process", f"no approval process '{process}' for {object_name} "
                           f"(processes for {object_name}: {', '.join(mine) or 'none'}){suggest(process, mine)}")])
        return process
    if len(mine) != 1:
        raise InvalidInput("say which process", [FieldProblem(
            "process", f"{object_name} has {len(mine)} approval processes ({', '.join(mine) or 'none'}); name one")])
    return mine[0]


def _submitter(people: People, email: str | None, record: Mapping[str, Any], actor: Actor) -> str:
    if email is not None:
        person = people.by_email(email)
        if person is None:
            raise InvalidInput("no such user", [FieldProblem("submitter", f"no active user with email {email}")])
        return person.id
    return str(record.get("owner_id") or actor.user_id)


def _value(expression: Any, record: Mapping[str, Any], related: Mapping[str, Any], context: EvaluationContext,
           path: str) -> bool:
    try:
        return bool(evaluate(expression, record, related, context))
    except EvaluationError as error:
        raise InvalidInput("a condition could not be checked", [FieldProblem(path, f"{expression.source}: {error}")]) from None
