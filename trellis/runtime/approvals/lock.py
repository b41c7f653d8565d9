"""The record lock of a pending approval, as a write hook: every write path obeys it.

GraphQL, CSV import, workflow rules and the designer all write through the records service, so
refusing here refuses everywhere. A request stores what it locks when it is submitted (the
pinned process's `lock`): `"record"` refuses every update and deletion, `{"fields": [...]}` only
updates that change those fields, `"none"` nothing. Human admins may still edit (to fix what a
request is stuck on); automation acting as the system may not — a rule that edits a record
under approval fails with this reason instead of changing what is being approved.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

from sqlalchemy import Connection, select

from trellis.runtime.access import Actor
from trellis.runtime.approvals.tables import approval_requests
from trellis.runtime.errors import Conflict, FieldProblem
from trellis.runtime.records.hooks import AfterWrite, BeforeSave, WriteHook


def _exempt(actor: Actor) -> bool:
    return actor.policy.is_admin and not actor.is_system


def _locks(conn: Connection, object_name: str, record_ids: Collection[str]) -> dict[str, tuple[str, object]]:
    """Each record of `record_ids` with a pending request: (request id, what it locks)."""
    if not record_ids:
        return {}
    r = approval_requests.c
    rows = conn.execute(select(r.open_record, r.id, r.lock).where(
        r.object == object_name, r.open_record.in_(sorted(record_ids))))
    return {row.open_record: (row.id, json.loads(row.lock)) for row in rows}


class ApprovalLock(WriteHook):
    """Refuses changes to records that wait for approval (one indexed query per write call)."""

    def before_save(self, save: BeforeSave) -> None:
        if save.event != "updated" or _exempt(save.actor):
            return
        ids = [str(d.before["id"]) for d in save.drafts if d.before is not None]
        locks = _locks(save.conn, save.compiled.name, ids)
        if not locks:
            return
        for draft in save.drafts:
            if draft.before is None or draft.before["id"] not in locks:
                continue
            request_id, lock = locks[draft.before["id"]]
            if lock == "record":
                draft.problems.append(FieldProblem("$", f"the {save.compiled.name} is locked while it waits for "
                                                        f"approval (request {request_id}); only an admin may change it"))
            elif isinstance(lock, list):
                for name in lock:
                    if draft.values.get(name) != draft.before.get(name):
                        draft.problems.append(FieldProblem(name, f"locked while the {save.compiled.name} waits for "
                                                                 f"approval (request {request_id})"))

    def after_write(self, write: AfterWrite) -> None:
        if write.event != "deleted" or _exempt(write.actor):
            return
        ids = [str(after["id"]) for _, after in write.changes]
        locks: Mapping[str, tuple[str, object]] = _locks(write.conn, write.compiled.name, ids)
        locked = [(i, r) for i, (r, lock) in locks.items() if lock != "none"]
        if locked:
            record_id, request_id = locked[0]
            raise Conflict(f"the {write.compiled.name} {record_id} waits for approval (request {request_id}); "
                           "recall the request before deleting it")
