"""My work: the signed-in user's home page in the workspace.

- my records ending soon (contracts whose end date falls in the next 7, 30 or 90 days),
- my customers at risk (accounts whose health band is the risk band),
- my open tasks, the approvals waiting for my decision (approve or reject with a comment, in
  place) and my in-app notifications (marked read here).

The first two are lists through the records service and the query compiler, named by the
metadata they need (`ENDING`, `AT_RISK`); a tenant without those objects or fields, or a user
who may not read them, simply has no such section. The rest are the inbox and approvals
services of the runtime, for the signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from starlette.responses import Response

from trellis.designer.web import Page
from trellis.metadata.definitions import localized
from trellis.runtime.approvals.queries import pending_for
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.inbox.service import Inbox
from trellis.runtime.records.service import RecordsService
from trellis.workspace.approval_pages import process_title, step_title
from trellis.workspace.fast_html import rows_html
from trellis.workspace.fields import Cell, Column, ObjectView, user_names
from trellis.workspace.list_query import Filter, ListQuery
from trellis.workspace.web import app_base, members, presenter, records

WINDOWS = (7, 30, 90)
SECTION_ROWS = 20


@dataclass(frozen=True)
class Listed:
    """One home list: the records, the columns shown and the list page's query for all of them."""

    view: ObjectView
    href: str  # the object's list
    columns: list[Column]
    rows: list[tuple[str, dict[str, Cell]]]
    query: str

    @property
    def body(self) -> Markup:
        return rows_html(self.href, self.columns, self.rows)


#: (object, its date field, the columns shown): my records whose date falls within the window.
ENDING = ("contract", "end_date", ("name", "number", "account", "end_date", "amount"))
#: (object, field, value, the columns shown): my records in the risk band.
AT_RISK = ("account", "health_band", "风险", ("name", "tier", "health_score", "health_change"))


def _listed(page: Page, service: RecordsService, object_name: str, filters: list[Filter],
            shown: tuple[str, ...], sort: str) -> Listed | None:
    """My records of `object_name` under `filters`, or None when the user may not see them."""
    assert page.actor is not None
    obj = service.registry.objects.get(object_name)
    if obj is None:
        return None
    view = ObjectView(obj, page.actor, page.t.language)
    names = [n for n in shown if view.column(n) is not None]
    if any(view.column(f.field) is None for f in filters) or not names:
        return None
    query = ListQuery(names, [*filters, Filter("owner_id", "eq", page.actor.user_id)], sort)
    found = service.list(page.actor, object_name, query.request(SECTION_ROWS))
    columns = [c for n in names if (c := view.column(n)) is not None]
    rows = presenter(page, service).rows(view, columns, found.records)
    return Listed(view, f"{app_base(page)}/{object_name}", columns, [(r["id"], row) for r, row in zip(found.records, rows, strict=True)], query.encode())


@members
def home(page: Page) -> Response:
    decided = page.t.t("ws.home.decided") if page.request.query_params.get("decided") else None
    return render_home(page, notice=decided)


def render_home(page: Page, notice: str | None = None, error: str | None = None, status: int = 200) -> Response:
    assert page.actor is not None
    asked = page.request.query_params.get("within", "")
    within = int(asked) if asked.isdigit() and int(asked) in WINDOWS else 30
    service = records(page)
    today = service.context().today
    object_name, date_field, shown = ENDING
    ending = _listed(page, service, object_name, [Filter(date_field, "gte", today.isoformat()),
                     Filter(date_field, "lte", (today + timedelta(days=within)).isoformat())], shown, date_field)
    risk_object, risk_field, band, risk_shown = AT_RISK
    at_risk = _listed(page, service, risk_object, [Filter(risk_field, "eq", band)], risk_shown, "name")
    inbox = Inbox(page.services.database(page.tenant_name), page.actor)
    return page.render("home.html", {
        "within": within, "windows": WINDOWS, "ending": ending, "at_risk": at_risk,
        "tasks": _with_links(page, service, inbox.tasks("open")),
        "approvals": _approvals(page, service),
        "notifications": _with_links(page, service, inbox.list(first=SECTION_ROWS).notifications),
        "app": app_base(page), "notice": notice, "error": error,
    }, status)


def _with_links(page: Page, service: RecordsService, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that name a record (tasks, notifications) with a link to it, when the user may read it."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row.get("object") and row.get("record_id"):
            wanted.setdefault(row["object"], set()).add(row["record_id"])
    names = presenter(page, service).lookup_names(wanted)
    app = app_base(page)
    out = []
    for row in rows:
        key = (str(row.get("object")), str(row.get("record_id")))
        out.append({**row, "link": f"{app}/{key[0]}/{key[1]}" if key in names else None, "record_name": names.get(key)})
    return out


def _approvals(page: Page, service: RecordsService) -> list[dict[str, Any]]:
    assert page.actor is not None
    pending = pending_for(service.db, page.actor)
    wanted: dict[str, set[str]] = {}
    for request in pending:
        wanted.setdefault(request.object, set()).add(request.record_id)
    names = presenter(page, service).lookup_names(wanted)
    people = user_names(service.db, [r.submitted_by for r in pending])
    shows = presenter(page, service)
    book, language = page.services.approvals(page.tenant_name).book, page.t.language
    out = []
    for request in pending:
        obj = service.registry.objects.get(request.object)
        step = next((step_title(book, request, t.step, language) for t in request.tasks
                     if t.status == "pending" and t.approver_id == page.actor.user_id), "")
        out.append({"id": request.id, "process": process_title(book, request, language), "step": step,
                    "object": localized(obj.label, page.t.language, request.object) if obj else request.object,
                    "record": names.get((request.object, request.record_id), request.record_id),
                    "link": f"{app_base(page)}/{request.object}/{request.record_id}"
                    if (request.object, request.record_id) in names else None,
                    "submitted_by": people.get(request.submitted_by, request.submitted_by),
                    "submitted_at": shows.when(request.submitted_at), "comment": request.comment or ""})
    return out


@members
def decide(page: Page) -> Response:
    """Approve or reject a request waiting for me, with a comment."""
    assert page.actor is not None
    engine = page.services.approvals(page.tenant_name)
    request_id, comment = page.request.path_params["request"], page.value("comment") or None
    try:
        if page.value("decision") == "approve":
            engine.approve(page.actor, request_id, comment)
        elif page.value("decision") == "reject":
            engine.reject(page.actor, request_id, comment)
        else:
            return render_home(page, error=page.t.t("ws.home.decide_how"), status=400)
    except RuntimeProblem as problem:
        return render_home(page, error=str(problem), status=409 if problem.code == "CONFLICT" else 403)
    return page.redirect(f"{app_base(page)}/?decided=1")


@members
def complete_task(page: Page) -> Response:
    assert page.actor is not None
    try:
        Inbox(page.services.database(page.tenant_name), page.actor).complete_task(page.request.path_params["task"])
    except RuntimeProblem as problem:
        return render_home(page, error=str(problem), status=404 if problem.code == "NOT_FOUND" else 403)
    return page.redirect(f"{app_base(page)}/")


@members
def mark_read(page: Page) -> Response:
    """Mark my notifications read: the one of each button (`id`), or all of them (`all`)."""
    assert page.actor is not None
    ids = [i for i in page.form.getlist("id") if isinstance(i, str)]
    Inbox(page.services.database(page.tenant_name), page.actor).mark_read(None if page.ticked("all") else ids)
    return page.redirect(f"{app_base(page)}/")
