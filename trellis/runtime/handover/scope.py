"""What a handover is asked to move and what it moved (or would): requests, results, checks.

The checks run before anything is written, so a refused handover never starts: the receiving
user must exist in this tenant's database and be active, and differ from the leaver; each
object named must exist; a `where` filter is compiled for each object it applies to (an unknown
field names the object).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from trellis.metadata.suggestions import suggest
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.identity.tables import users

SAMPLE = 5  # record ids a result lists per object, to show what moves


@dataclass(frozen=True)
class HandoverRequest:
    """Move what `from_email` owns to `to_email`: every object with records (`objects` empty),
    or the ones named, optionally only records matching `where` (the query filter grammar)."""

    from_email: str
    to_email: str
    objects: tuple[str, ...] = ()
    where: Mapping[str, Any] | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ObjectMove:
    object: str
    records: int
    sample: tuple[str, ...]  # the first record ids (by id), to show what moves


@dataclass(frozen=True)
class HandoverResult:
    """What moved (or, for a dry run, would move): per object, and the queued work with it."""

    id: str | None  # the audit event's record id; None for a dry run
    from_user: str
    to_user: str
    dry_run: bool
    objects: tuple[ObjectMove, ...]
    deliveries: int  # queued reminders and tasks re-addressed (sent later to the new owner)
    deliveries_dropped: int  # queued ones the new owner already receives (marked dead, not sent twice)
    approval_tasks: int
    tasks: int
    notes: tuple[str, ...] = field(default=())

    @property
    def records(self) -> int:
        return sum(m.records for m in self.objects)

    def summary(self) -> dict[str, Any]:
        """The JSON the audit event stores."""
        return {"from": self.from_user, "to": self.to_user,
                "objects": {m.object: m.records for m in self.objects if m.records},
                "deliveries": self.deliveries, "deliveries_dropped": self.deliveries_dropped,
                "approval_tasks": self.approval_tasks, "tasks": self.tasks}


@dataclass(frozen=True)
class Party:
    id: str
    email: str
    name: str
    active: bool


def party(conn: Connection, email: str, path: str, tenant: str) -> Party:
    """A user of this tenant by email (any state), or InvalidInput at `path`."""
    key = email.strip().lower()
    row = conn.execute(select(users.c.id, users.c.email, users.c.name, users.c.active)
                       .where(users.c.email == key)).first()
    if row is None:
        raise InvalidInput("no such user", [FieldProblem(path, f"no user with email {email!r} in tenant {tenant}")])
    return Party(row.id, row.email, row.name, bool(row.active))


def parties(conn: Connection, request: HandoverRequest, tenant: str) -> tuple[Party, Party]:
    """The leaver and the receiver, or why the handover is refused (nothing written yet)."""
    leaver = party(conn, request.from_email, "from", tenant)
    receiver = party(conn, request.to_email, "to", tenant)
    if receiver.id == leaver.id:
        raise InvalidInput("cannot hand over to the same user", [FieldProblem("to", f"{receiver.email} is the user "
                                                                                    "handing over")])
    if not receiver.active:
        raise InvalidInput("the receiving user is deactivated", [FieldProblem(
            "to", f"{receiver.email} is deactivated; reactivate them or choose an active user")])
    return leaver, receiver


def chosen_objects(known: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The objects to move (all, sorted, when none are named); unknown names are refused."""
    if not wanted:
        return sorted(known)
    problems = [FieldProblem(f"objects[{i}]", f"no object named '{name}'{suggest(name, known)}")
                for i, name in enumerate(wanted) if name not in known]
    if problems:
        raise InvalidInput("unknown objects", problems)
    return sorted(set(wanted))
