"""Delegations: while a user is away, a delegate is asked in their place (see `approvers`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.approvals.tables import approval_delegations
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput
from trellis.runtime.identity.people import People


@dataclass(frozen=True)
class Delegation:
    id: str
    user_id: str
    delegate_id: str
    starts_at: datetime
    ends_at: datetime
    object: str | None
    process: str | None


def delegate(db: Database, actor: Actor, user_email: str, delegate_email: str, starts_at: datetime,
             ends_at: datetime, *, object_name: str | None = None, process: str | None = None,
             clock: Clock = utc_now) -> Delegation:
    """Record that `delegate_email` approves for `user_email` from `starts_at` until `ends_at`.
    A user delegates for themselves; an admin for anyone."""
    if ends_at <= starts_at:
        raise InvalidInput("the delegation ends before it starts", [FieldProblem("to", "must be after from")])
    with db.write() as conn:
        people = People(conn)
        user, stand_in = people.by_email(user_email), people.by_email(delegate_email)
        if user is None:
            raise InvalidInput("no such user", [FieldProblem("user", f"no active user with email {user_email}")])
        if stand_in is None:
            raise InvalidInput("no such user", [FieldProblem("delegate", f"no active user with email {delegate_email}")])
        if stand_in.id == user.id:
            raise InvalidInput("a user cannot delegate to themselves", [FieldProblem("delegate", "choose someone else")])
        if actor.user_id != user.id and not actor.policy.is_admin:
            raise Forbidden("only admins may delegate for someone else")
        found = Delegation(new_id(), user.id, stand_in.id, starts_at, ends_at, object_name, process)
        conn.execute(insert(approval_delegations).values(
            id=found.id, user_id=user.id, delegate_id=stand_in.id, starts_at=starts_at, ends_at=ends_at,
            object=object_name, process=process, created_by=actor.user_id, created_at=clock()))
        return found


def delegations_of(db: Database, user_id: str) -> list[Delegation]:
    d = approval_delegations.c
    with db.read() as conn:
        rows = conn.execute(select(approval_delegations).where(d.user_id == user_id).order_by(d.starts_at))
        return [Delegation(r.id, r.user_id, r.delegate_id, r.starts_at, r.ends_at, r.object, r.process) for r in rows]
