"""An approval request as callers see it: its steps' tasks and its history, read in three queries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

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


def read_request(conn: Connection, request_id: str) -> RequestView:
    row = conn.execute(select(approval_requests).where(approval_requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound(f"no approval request with id '{request_id}'")
    t, e = approval_tasks.c, approval_events.c
    tasks = conn.execute(select(approval_tasks).where(t.request_id == request_id).order_by(t.step, t.created_at, t.id))
    events = conn.execute(select(approval_events).where(e.request_id == request_id).order_by(e.at, e.id))
    return RequestView(
        id=row["id"], process=row["process"], release=row["release"], object=row["object"],
        record_id=row["record_id"], status=row["status"], step=row["step"], submitted_by=row["submitted_by"],
        submitted_at=row["submitted_at"], comment=row["comment"], decided_at=row["decided_at"],
        tasks=tuple(TaskView(r.id, r.step, r.step_name, r.approver_id, r.delegated_from, r.status, r.comment,
                             r.created_at, r.decided_at) for r in tasks),
        events=tuple(EventView(r.at, r.actor_id, r.event, r.step, json.loads(r.detail) if r.detail else {})
                     for r in events),
    )
