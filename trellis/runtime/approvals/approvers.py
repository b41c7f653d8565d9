"""Whom a step asks: its approver entries resolved to active people when the step starts.

Entries name a user (by email), a role, a user field of the record (`owner_id`,
`account.owner_id`), the submitter's manager (1) or manager's manager (2), or an expression
giving user ids or emails. Then, in order:

- delegations in effect now replace a person by their delegate (one hop: a delegate's own
  delegation is not followed, so two people away at once cannot send a step in a circle);
- with `self_approval: forbid` the submitter is never asked; when that leaves nobody, the
  submitter's manager is asked instead;
- when nobody is left at all (an empty role, a chain with no manager), the tenant's admins are
  asked, and the history says why (`fallback`). Only when there is no admin either is the step
  impossible, which the engine refuses with the step's path.

Reads go through `People` (one cache per engine call) and one query for delegations.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from trellis.metadata.roles import ADMIN_ROLE
from trellis.runtime.approvals.processes import Process, Step
from trellis.runtime.approvals.tables import approval_delegations
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.identity.people import People, Person


@dataclass(frozen=True)
class Asked:
    """One person a step asks, and whom they stand in for when a delegation sent it to them."""

    person: Person
    delegated_from: Person | None = None


@dataclass
class Resolution:
    asked: list[Asked] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why someone was left out or stood in
    away: list[Person] = field(default_factory=list)  # named but away with no delegate (simulator)


def resolve(conn: Connection, people: People, process: Process, step: Step, record: Mapping[str, Any],
            related: Mapping[str, Mapping[str, Any] | None], submitter_id: str,
            context: EvaluationContext) -> Resolution:
    """The people `step` asks for this record and submitter, at `context.now`."""
    result = Resolution()
    named = _named(people, step, record, related, submitter_id, context, result)
    if process.self_approval == "forbid" and any(p.id == submitter_id for p in named):
        named = [p for p in named if p.id != submitter_id]
        result.notes.append("the submitter may not approve their own request")
        if not named:
            manager = people.manager_of(submitter_id)
            if manager is not None:
                named = [manager]
                result.notes.append(f"asked the submitter's manager {manager.email} instead")
    if not named:
        named = people.in_role(ADMIN_ROLE)
        named = [p for p in named if p.id != submitter_id or process.self_approval == "allow"]
        result.notes.append("nobody to ask: the tenant's admins are asked" if named else
                            "nobody to ask, and no admin to fall back to")
    delegates = delegations(conn, [p.id for p in named], process, context.now)
    seen: set[str] = set()
    for person in named:
        delegate = people.by_id(delegates[person.id]) if person.id in delegates else None
        if person.id in delegates and delegate is None:
            result.away.append(person)  # delegated to someone who can no longer sign in: asked anyway
        asked = Asked(delegate, person) if delegate is not None else Asked(person)
        if asked.person.id in seen:
            continue
        seen.add(asked.person.id)
        result.asked.append(asked)
        if delegate is not None:
            result.notes.append(f"{person.email} is away: {delegate.email} stands in")
    return result


def _named(people: People, step: Step, record: Mapping[str, Any], related: Mapping[str, Mapping[str, Any] | None],
           submitter_id: str, context: EvaluationContext, result: Resolution) -> list[Person]:
    """Every active person the entries name, in entry order, each once."""
    found: dict[str, Person] = {}
    for position, entry in enumerate(step.approvers):
        (key, value), = entry.items()
        if key == "user":
            person = people.by_email(value)
            _add(found, [person] if person else [], result, f"no active user {value}")
        elif key == "role":
            _add(found, people.in_role(value), result, f"nobody holds the role {value}")
        elif key == "user_field":
            user_id = _read(record, related, value)
            person = people.by_id(str(user_id)) if user_id else None
            _add(found, [person] if person else [], result, f"{value} names no active user")
        elif key == "manager":
            manager = people.manager_of(submitter_id, int(value))
            what = "manager" if value == 1 else "manager's manager"
            _add(found, [manager] if manager else [], result, f"the submitter has no {what}")
        else:
            try:
                value = evaluate(step.expressions[position], record, related, context)
            except EvaluationError as error:
                result.notes.append(f"approver expression {entry['expression']} failed: {error}")
                continue
            values = value if isinstance(value, (list, tuple)) else [value]
            persons = [people.by_email(str(v)) if "@" in str(v) else people.by_id(str(v)) for v in values if v]
            _add(found, [p for p in persons if p], result, f"{entry['expression']} names no active user")
    return list(found.values())


def _add(found: dict[str, Person], persons: Sequence[Person], result: Resolution, missing: str) -> None:
    if not persons:
        result.notes.append(missing)
    for person in persons:
        found.setdefault(person.id, person)


def _read(record: Mapping[str, Any], related: Mapping[str, Mapping[str, Any] | None], path: str) -> Any:
    base, _, attr = path.partition(".")
    if not attr:
        return record.get(base)
    target = related.get(base)
    return target.get(attr) if target else None


def delegations(conn: Connection, user_ids: Collection[str], process: Process, now: datetime) -> dict[str, str]:
    """Each of `user_ids` who has delegated at `now` (for this process or its object, or for
    everything), mapped to the delegate; the narrowest and then newest delegation wins."""
    if not user_ids:
        return {}
    d = approval_delegations.c
    rows = conn.execute(select(d.user_id, d.delegate_id, d.object, d.process).where(
        d.user_id.in_(sorted(user_ids)), d.starts_at <= now, d.ends_at > now,
        or_(d.object.is_(None), d.object == process.object),
        or_(d.process.is_(None), d.process == process.name)).order_by(d.created_at))
    chosen: dict[str, tuple[int, str]] = {}
    for row in rows:
        rank = (row.process is not None) * 2 + (row.object is not None)
        if row.user_id not in chosen or rank >= chosen[row.user_id][0]:
            chosen[row.user_id] = (rank, row.delegate_id)
    return {user: delegate for user, (_, delegate) in chosen.items()}
