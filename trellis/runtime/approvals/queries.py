"""Lists of approval requests: the caller's pending approvals and a filtered, paged list.

`pending_for` reads the caller's pending tasks through `ix_approval_tasks__inbox` (approver,
status, created_at) and stays an index range scan however many requests are open. Admins see
every request in `list_requests`; anyone else the requests they submitted or were asked in.
Pages are newest first and keyed by request id (ids are time-ordered UUIDv7): `after` is the
last id of the previous page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, exists, or_, select

from trellis.platform.db import Database
from trellis.runtime.access import Actor
from trellis.runtime.approvals.tables import approval_requests, approval_tasks
from trellis.runtime.approvals.views import RequestView, read_requests
from trellis.runtime.errors import FieldProblem, InvalidInput

DEFAULT_PAGE = 50
MAX_PAGE = 500
STATUSES = ("pending", "approved", "rejected", "recalled")


@dataclass(frozen=True)
class RequestPage:
    requests: list[RequestView]
    has_next: bool


def _first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput("invalid page size", [FieldProblem("first", f"expected 1 to {MAX_PAGE}; got {first}")])
    return first


def pending_ids(conn: Connection, user_id: str, first: int) -> list[str]:
    """Ids of the requests waiting for `user_id`, oldest ask first (an index range scan)."""
    t = approval_tasks.c
    return list(conn.execute(select(t.request_id).where(t.approver_id == user_id, t.status == "pending")
                             .order_by(t.created_at, t.request_id).limit(first)).scalars())


def pending_for(db: Database, actor: Actor, first: int = DEFAULT_PAGE) -> list[RequestView]:
    """The requests that wait for the caller's decision."""
    with db.read() as conn:
        return read_requests(conn, pending_ids(conn, actor.user_id, _first(first)))


def list_requests(db: Database, actor: Actor, *, status: str | None = None, object_name: str | None = None,
                  record_id: str | None = None, first: int = DEFAULT_PAGE, after: str | None = None) -> RequestPage:
    if status is not None and status not in STATUSES:
        raise InvalidInput("invalid status", [FieldProblem("where.status", f"expected one of {', '.join(STATUSES)}; "
                                                                           f"got {status!r}")])
    r, t = approval_requests.c, approval_tasks.c
    conditions = [c for c in (r.status == status if status else None, r.object == object_name if object_name else None,
                              r.record_id == record_id if record_id else None, r.id < after if after else None)
                  if c is not None]
    if not actor.policy.is_admin:
        asked = exists().where(t.request_id == r.id, or_(t.approver_id == actor.user_id,
                                                          t.delegated_from == actor.user_id))
        conditions.append(or_(r.submitted_by == actor.user_id, asked))
    size = _first(first)
    with db.read() as conn:
        ids: Sequence[str] = list(conn.execute(select(r.id).where(*conditions).order_by(r.id.desc())
                                               .limit(size + 1)).scalars())
        return RequestPage(read_requests(conn, ids[:size]), len(ids) > size)


def requests_of_records(db: Database, object_name: str, record_ids: Sequence[str],
                        status: str | None = None) -> list[list[RequestView]]:
    """Each record's approval requests, newest first, in one query for all the records (through
    `ix_approval_requests__record`). Whoever reads the record may read its requests."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("invalid status", [FieldProblem("status", f"expected one of {', '.join(STATUSES)}; "
                                                                     f"got {status!r}")])
    r = approval_requests.c
    conditions = [r.object == object_name, r.record_id.in_(list(record_ids))]
    if status is not None:
        conditions.append(r.status == status)
    with db.read() as conn:
        ids = list(conn.execute(select(r.id).where(*conditions).order_by(r.id.desc())).scalars())
        views = read_requests(conn, ids)
    by_record: dict[str, list[RequestView]] = {record_id: [] for record_id in record_ids}
    for view in views:
        by_record[view.record_id].append(view)
    return [by_record[record_id] for record_id in record_ids]

