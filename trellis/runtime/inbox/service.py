"""A user's inbox: the in-app notifications and the tasks the workflow dispatcher wrote for them.

`Inbox` answers for one actor and only ever touches that actor's own rows: a notification id
of another user is treated exactly like an id that does not exist (never revealed, never
changed). Notifications page newest first with keyset cursors on (created_at, id); counting
the unread ones is a range scan of `ix_notifications__inbox` (user_id, read_at, created_at).
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, case, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from trellis.runtime.inbox.tables import notifications, tasks

DEFAULT_PAGE = 20
MAX_PAGE = 100
MAX_IDS = 1000  # notifications marked read by id in one call
MAX_TASKS = 500  # tasks listed in one call: open ones first, the nearest due first
TaskStatus = Literal["open", "done"]
TASK_STATUSES: tuple[TaskStatus, ...] = ("open", "done")

NOTIFICATION_COLUMNS = [notifications.c[name] for name in
                        ("id", "title", "body", "object", "record_id", "created_at", "read_at")]
TASK_COLUMNS = [tasks.c[name] for name in ("id", "title", "description", "assignee_id", "object", "record_id",
                                           "due_date", "status", "created_at", "completed_at")]


@dataclass(frozen=True)
class NotificationPage:
    """Notifications newest first, each with its cursor (pass the last one as `after`)."""

    notifications: list[dict[str, Any]]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def _cursor(row: dict[str, Any]) -> str:
    raw = json.dumps([row["created_at"].isoformat(), row["id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of the notification a cursor points at."""
    try:
        at, notification_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        created_at = datetime.fromisoformat(at)
        if created_at.tzinfo is None or not isinstance(notification_id, str):
            raise ValueError(cursor)
        return created_at, notification_id
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput("invalid cursor", [FieldProblem(
            "after", "not a cursor of the notifications list: pass a pageInfo.endCursor it returned")]) from None


def _older_than(cursor: str) -> ColumnElement[bool]:
    created_at, notification_id = _position(cursor)
    column = notifications.c.created_at
    return or_(column < created_at, and_(column == created_at, notifications.c.id < notification_id))


class Inbox:
    """The notifications and tasks of `actor` (the user the request runs for)."""

    def __init__(self, db: Database, actor: Actor, clock: Clock = utc_now):
        self.db = db
        self.actor = actor
        self.clock = clock

    @property
    def user_id(self) -> str:
        return self.actor.user_id

    # -- notifications ---------------------------------------------------------------------------

    def list(self, first: int = DEFAULT_PAGE, after: str | None = None, unread_only: bool = False) -> NotificationPage:
        if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= MAX_PAGE:
            raise InvalidInput("invalid page size", [FieldProblem("first", f"expected a whole number from 0 to "
                                                                           f"{MAX_PAGE}; got {first}")])
        condition = self._mine()
        if unread_only:
            condition = and_(condition, notifications.c.read_at.is_(None))
        if after is not None:
            condition = and_(condition, _older_than(after))
        statement = select(*NOTIFICATION_COLUMNS).where(condition) \
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(first + 1)
        with self.db.read() as conn:
            rows = [dict(row) for row in conn.execute(statement).mappings()]
        found = rows[:first]
        return NotificationPage(found, [_cursor(row) for row in found], len(rows) > first, after is not None)

    def unread_count(self) -> int:
        statement = select(func.count()).select_from(notifications) \
            .where(self._mine(), notifications.c.read_at.is_(None))
        with self.db.read() as conn:
            return int(conn.execute(statement).scalar_one())

    def mark_read(self, ids: Sequence[str] | None = None) -> int:
        """Mark the actor's unread notifications read — all of them, or those of `ids` — and say
        how many changed. Ids that are not the actor's (or do not exist) are passed over."""
        condition = and_(self._mine(), notifications.c.read_at.is_(None))
        if ids is not None:
            if not ids:
                return 0
            if len(ids) > MAX_IDS:
                raise InvalidInput("too many ids", [FieldProblem("ids", f"at most {MAX_IDS} per call; got {len(ids)}")])
            condition = and_(condition, notifications.c.id.in_(sorted(set(ids))))
        with self.db.write() as conn:
            return int(conn.execute(update(notifications).where(condition).values(read_at=self.clock())).rowcount)

    def _mine(self) -> ColumnElement[bool]:
        return notifications.c.user_id == self.user_id

    # -- tasks -----------------------------------------------------------------------------------

    def tasks(self, status: str | None = "open") -> builtins.list[dict[str, Any]]:  # `list` here is the method above
        """The actor's tasks (`open`, `done` or, with None, both): open ones first, then by due
        date (undated last) and age; at most `MAX_TASKS`."""
        condition = tasks.c.assignee_id == self.user_id
        if status is not None:
            if status not in TASK_STATUSES:
                raise InvalidInput("invalid status", [FieldProblem("status", f"expected open or done; got {status!r}")])
            condition = and_(condition, tasks.c.status == status)
        statement = select(*TASK_COLUMNS).where(condition).order_by(
            case((tasks.c.status == "open", 0), else_=1), tasks.c.due_date.is_(None), tasks.c.due_date,
            tasks.c.created_at, tasks.c.id).limit(MAX_TASKS)
        with self.db.read() as conn:
            return [dict(row) for row in conn.execute(statement).mappings()]

    def complete_task(self, task_id: str) -> dict[str, Any]:
        """Mark a task done (done already: unchanged). Only its assignee or an admin may."""
        with self.db.write() as conn:
            task = self._task(conn, task_id)
            if task["assignee_id"] != self.user_id and not self.actor.policy.is_admin:
                raise Forbidden("only the task's assignee or an admin may complete it")
            if task["status"] != "done":
                task.update(status="done", completed_at=self.clock())
                conn.execute(update(tasks).where(tasks.c.id == task_id)
                             .values(status=task["status"], completed_at=task["completed_at"]))
            return task

    @staticmethod
    def _task(conn: Connection, task_id: str) -> dict[str, Any]:
        row = conn.execute(select(*TASK_COLUMNS).where(tasks.c.id == task_id).with_for_update()).mappings().first()
        if row is None:
            raise NotFound(f"no task with id '{task_id}'")
        return dict(row)
