"""An approval request as callers see it: its steps' tasks and its history, read in three queries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from trellis.runtime.approvals.tables import approval_events, approval_requests, approval_tasks
from trellis.runtime.errors import NotFound


@dataclass(frozen=True)
class TaskView:
    id: str
    step: int
    step_name: str
    approver_id: str
    delegated_from: str | None
    status: str  # pending, approved, rejected, closed, reassigned
    comment: str | None
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor_id: str
    event: str  # submitted, step_started, step_skipped, approved, step_approved, rejected, recalled, ...
    step: int | None
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class RequestView:
    id: str
    process: str
    release: int  # the release the process is pinned to
    object: str
    record_id: str
    status: str  # pending, approved, rejected, recalled
    step: int | None
    submitted_by: str
    submitted_at: datetime
    comment: str | None
    decided_at: datetime | None
    tasks: tuple[TaskView, ...]
    events: tuple[EventView, ...]

    def participants(self) -> set[str]:
        """Who takes part: the submitter, every approver asked and whom they stood in for."""
        people = {self.submitted_by} | {t.approver_id for t in self.tasks}
        return people | {t.delegated_from for t in self.tasks if t.delegated_from}


_r, _t, _e = approval_requests.c, approval_tasks.c, approval_events.c
_REQUESTS = select(approval_requests).where(_r.id.in_(bindparam("ids", expanding=True)))
_TASKS = select(approval_tasks).where(_t.request_id.in_(bindparam("ids", expanding=True))).order_by(
    _t.request_id, _t.step, _t.created_at, _t.id)
_EVENTS = select(approval_events).where(_e.request_id.in_(bindparam("ids", expanding=True))).order_by(
    _e.request_id, _e.at, _e.id)


def read_request(conn: Connection, request_id: str) -> RequestView:
    found = read_requests(conn, [request_id])
    if not found:
        raise NotFound(f"no approval request with id '{request_id}'")
    return found[0]


def read_requests(conn: Connection, request_ids: Sequence[str]) -> list[RequestView]:
    """The requests with these ids, in the order given (missing ones left out): three queries
    for the whole page, never three per request."""
    if not request_ids:
        return []
    ids = {"ids": list(request_ids)}
    rows = {row["id"]: row for row in conn.execute(_REQUESTS, ids).mappings()}
    tasks: dict[str, list[TaskView]] = {}
    for row in conn.execute(_TASKS, ids):
        tasks.setdefault(row.request_id, []).append(TaskView(
            row.id, row.step, row.step_name, row.approver_id, row.delegated_from, row.status, row.comment,
            row.created_at, row.decided_at))
    events: dict[str, list[EventView]] = {}
    for row in conn.execute(_EVENTS, ids):
        events.setdefault(row.request_id, []).append(EventView(
            row.at, row.actor_id, row.event, row.step, json.loads(row.detail) if row.detail else {}))
    return [RequestView(
        id=found["id"], process=found["process"], release=found["release"], object=found["object"],
        record_id=found["record_id"], status=found["status"], step=found["step"], submitted_by=found["submitted_by"],
        submitted_at=found["submitted_at"], comment=found["comment"], decided_at=found["decided_at"],
        tasks=tuple(tasks.get(i, ())), events=tuple(events.get(i, ())))
        for i in request_ids if (found := rows.get(i)) is not None]
