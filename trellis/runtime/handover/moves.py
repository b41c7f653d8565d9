"""The set-based statements of a handover: a count and an UPDATE (or INSERT … SELECT) per
object and per kind of queued work, never a statement per record.

Each function takes the conditions that pick the rows (`Scope`), so the dry run counts exactly
what the real run moves. Rows written here keep the records service's conventions: a moved
record's `version` is bumped and `updated_at` stamped (a client holding the old version gets a
conflict, as after any edit), each gets a field-history row for `owner_id`, and a reassigned
approval task is closed as `reassigned` beside a new pending task, as the engine's own
`reassign` does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from trellis.runtime.approvals.tables import approval_events, approval_requests, approval_tasks
from trellis.runtime.automation.rules import RuleIndex
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.handover.scope import SAMPLE, ObjectMove, Party
from trellis.runtime.inbox.tables import tasks
from trellis.runtime.records.tables import audit_log, field_history


@dataclass(frozen=True)
class ObjectScope:
    """One object's rows in play: `chosen` (the `where` filter; None: every row) and, of those,
    `owned` (the leaver's)."""

    name: str
    table: Table
    chosen: ColumnElement[bool] | None
    owned: ColumnElement[bool]


@dataclass(frozen=True)
class Scope:
    leaver: Party
    receiver: Party
    objects: Sequence[ObjectScope]
    restricted: bool  # objects or a filter were named: queued work follows the chosen records only


def new_ids(dialect: str) -> ColumnElement[Any]:
    """A fresh id per row inside the database (an INSERT … SELECT cannot call `new_id`)."""
    if dialect == "postgresql":
        return cast(func.gen_random_uuid(), String)
    return func.lower(func.hex(func.randomblob(16)))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# -- records -----------------------------------------------------------------------------------

def count_records(conn: Connection, scope: ObjectScope) -> ObjectMove:
    table = scope.table
    count = conn.execute(select(func.count()).select_from(table).where(scope.owned)).scalar_one()
    sample = tuple(conn.execute(select(table.c.id).where(scope.owned).order_by(table.c.id).limit(SAMPLE)).scalars()) \
        if count else ()
    return ObjectMove(scope.name, int(count), sample)


def move_records(conn: Connection, scope: ObjectScope, leaver: Party, receiver: Party, at: datetime, actor: str,
                 dialect: str) -> None:
    """History first (it selects the leaver's rows), then the owner, version and stamp."""
    table = scope.table
    conn.execute(insert(field_history).from_select(
        ["id", "object", "record_id", "field", "old_value", "new_value", "changed_at", "changed_by"],
        select(new_ids(dialect), literal(scope.name), table.c.id, literal("owner_id"), literal(_json(leaver.id)),
               literal(_json(receiver.id)), literal(at, field_history.c.changed_at.type), literal(actor))
        .where(scope.owned)))
    conn.execute(update(table).where(scope.owned).values(
        owner_id=receiver.id, version=table.c.version + 1, updated_at=at))


# -- queued deliveries -------------------------------------------------------------------------

def _owner_actions(rules: RuleIndex, object_name: str) -> list[tuple[str, int]]:
    """(rule, action position) of the actions of `object_name`'s rules addressed to the record's
    owner: what a queued row of theirs was addressed through."""
    found = []
    for rule in rules.rules.values():
        if rule.object != object_name:
            continue
        for action in rule.actions:
            targets = [*action.spec.get("to", ()), action.spec.get("assignee") or {}]
            if any(t.get("user_field") == "owner_id" for t in targets if isinstance(t, Mapping)):
                found.append((rule.name, action.index))
    return found


def _deliveries_in_scope(scope: Scope, rules: RuleIndex) -> ColumnElement[bool]:
    d = deliveries.c
    by_object = []
    for obj in scope.objects:
        pairs = _owner_actions(rules, obj.name)
        if pairs:
            by_object.append(and_(or_(*(and_(d.rule == r, d.action == i) for r, i in pairs)),
                                  d.record_id.in_(select(obj.table.c.id).where(obj.owned))))
    if not by_object:
        return false()
    leaver = scope.leaver
    return and_(d.status == "pending", d.recipient.in_([leaver.id, leaver.email]), or_(*by_object))


def _taken(scope: Scope) -> ColumnElement[bool]:
    """The receiver already has the same queued row (the ledger's unique key): re-addressing it
    would send twice, so it is dropped instead."""
    d, other = deliveries.c, deliveries.alias("other").c
    return exists(select(other.id).where(
        other.rule == d.rule, other.record_id == d.record_id, other.step == d.step, other.due_at == d.due_at,
        other.action == d.action, other.channel == d.channel,
        other.recipient == case((d.recipient == scope.leaver.id, scope.receiver.id), else_=scope.receiver.email)))


def count_deliveries(conn: Connection, scope: Scope, rules: RuleIndex) -> tuple[int, int]:
    """(to re-address, to drop)."""
    base = _deliveries_in_scope(scope, rules)
    dropped = conn.execute(select(func.count()).select_from(deliveries).where(base, _taken(scope))).scalar_one()
    total = conn.execute(select(func.count()).select_from(deliveries).where(base)).scalar_one()
    return int(total) - int(dropped), int(dropped)


def move_deliveries(conn: Connection, scope: Scope, rules: RuleIndex, handover_id: str) -> None:
    """Re-address the leaver's queued rows to the receiver: the recipient (user id or email) and
    the payload's user id (a task's assignee) and recipient name. A text already rendered keeps
    its wording; what it says about the record is still true."""
    base = _deliveries_in_scope(scope, rules)
    d, leaver, receiver = deliveries.c, scope.leaver, scope.receiver
    conn.execute(update(deliveries).where(base, _taken(scope)).values(
        status="dead", last_error=f"handover {handover_id}: {receiver.email} already receives this"))
    old_name = f'"recipient_name": {_json(leaver.name)}'
    new_name = f'"recipient_name": {_json(receiver.name)}'
    conn.execute(update(deliveries).where(base).values(
        recipient=case((d.recipient == leaver.id, receiver.id), else_=receiver.email),
        payload=func.replace(func.replace(d.payload, leaver.id, receiver.id), old_name, new_name)))


# -- approval tasks and inbox tasks ------------------------------------------------------------

def _about_chosen(scope: Scope, object_column: Any, record_column: Any) -> ColumnElement[bool]:
    """Work about a chosen record: everything when nothing was narrowed."""
    if not scope.restricted:
        return true()
    return or_(false(), *(object_column == obj.name if obj.chosen is None else
                          and_(object_column == obj.name, record_column.in_(select(obj.table.c.id).where(obj.chosen)))
                          for obj in scope.objects))


def _pending_approvals(scope: Scope) -> ColumnElement[bool]:
    t, r = approval_tasks.c, approval_requests.c
    requests = select(r.id).where(r.status == "pending", _about_chosen(scope, r.object, r.record_id))
    return and_(t.approver_id == scope.leaver.id, t.status == "pending", t.request_id.in_(requests))


def count_approvals(conn: Connection, scope: Scope) -> int:
    return int(conn.execute(select(func.count()).select_from(approval_tasks).where(_pending_approvals(scope)))
               .scalar_one())


def move_approvals(conn: Connection, scope: Scope, at: datetime, actor: str, handover_id: str, dialect: str) -> None:
    """History, request version, the receiver's task (unless already asked in that step), then
    the leaver's task closed as `reassigned`."""
    t, mine = approval_tasks.c, _pending_approvals(scope)
    detail = _json({"from": scope.leaver.id, "to": scope.receiver.id, "handover": handover_id})
    stamp = literal(at, approval_events.c.at.type)
    conn.execute(insert(approval_events).from_select(
        ["id", "request_id", "at", "actor_id", "event", "step", "detail", "key"],
        select(new_ids(dialect), t.request_id, stamp, literal(actor), literal("reassigned"), t.step,
               literal(detail), null()).where(mine)))
    conn.execute(update(approval_requests).where(approval_requests.c.id.in_(select(t.request_id).where(mine)))
                 .values(version=approval_requests.c.version + 1))
    other = approval_tasks.alias("other").c
    asked = exists(select(other.id).where(other.request_id == t.request_id, other.step == t.step,
                                          other.approver_id == scope.receiver.id))
    conn.execute(insert(approval_tasks).from_select(
        ["id", "request_id", "step", "step_name", "approver_id", "delegated_from", "status", "comment", "created_at",
         "decided_at", "remind_at", "escalate_at"],
        select(new_ids(dialect), t.request_id, t.step, t.step_name, literal(scope.receiver.id), null(),
               literal("pending"), null(), literal(at, approval_tasks.c.created_at.type), null(), t.remind_at,
               t.escalate_at).where(mine, ~asked)))
    conn.execute(update(approval_tasks).where(mine).values(status="reassigned", decided_at=at))


def _open_tasks(scope: Scope) -> ColumnElement[bool]:
    return and_(tasks.c.assignee_id == scope.leaver.id, tasks.c.status == "open",
                _about_chosen(scope, tasks.c.object, tasks.c.record_id))


def count_tasks(conn: Connection, scope: Scope) -> int:
    return int(conn.execute(select(func.count()).select_from(tasks).where(_open_tasks(scope))).scalar_one())


def move_tasks(conn: Connection, scope: Scope) -> None:
    conn.execute(update(tasks).where(_open_tasks(scope)).values(assignee_id=scope.receiver.id))


# -- the one audit event -----------------------------------------------------------------------

def audit_event(conn: Connection, handover_id: str, at: datetime, actor: str, summary: Mapping[str, Any]) -> None:
    """The handover is one audit row (object `handover`, its id as the record id); the records
    it moved carry a field-history row each."""
    conn.execute(insert(audit_log).values(id=handover_id, at=at, actor=actor, object="handover",
                                          record_id=handover_id, action="handover", changes=_json(summary)))
