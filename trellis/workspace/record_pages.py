"""A record's page: its fields with labels in the user's language (lookups as links), the
records that point to it (related lists from reverse lookups), its field history, its approval
requests and, where a score model scores the object, the latest score explained. A deleted
record's page says so and offers restore to those who may delete it.

Every read goes through the records service (and the approvals and scores services) with the
signed-in user's permissions: a record they may not read is "not found", a field they may not
read is not on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.responses import Response

from trellis.designer.web import Page
from trellis.runtime.access import Scope
from trellis.runtime.errors import NotFound, RuntimeProblem
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService
from trellis.runtime.scores.explain import Explanation, explain
from trellis.runtime.scores.model import models_of
from trellis.runtime.values.coercion import CoercionError, coerce
from trellis.workspace import approval_pages
from trellis.workspace.fast_html import rows_html
from trellis.workspace.fields import Cell, Column, ObjectView, Presenter, user_names
from trellis.workspace.web import app_base, members, object_view, presenter, records, refuse

RELATED_ROWS = 10
RELATED_COLUMNS = 4


@dataclass(frozen=True)
class Related:
    view: ObjectView
    href: str  # the child object's list
    via: str
    via_label: str  # an object may point here through several lookups: which one this list follows
    columns: list[Column]
    rows: list[tuple[str, dict[str, Cell]]]
    more: bool

    @property
    def body(self) -> Markup:
        return rows_html(self.href, self.columns, self.rows)


@dataclass(frozen=True)
class Scored:
    model: str
    explanation: Explanation | None


def _not_found(page: Page) -> Response:
    return refuse(page, 404, page.t.t("refused.not_found_body"))


def may(view: ObjectView, action: str, record: dict[str, Any]) -> bool:
    """Whether the actor may `action` (update, delete) this record: all of them, or their own."""
    scope = view.actor.policy.scope(view.name, action)  # type: ignore[arg-type]
    return scope is Scope.ALL or (scope is Scope.OWN and record.get("owner_id") == view.actor.user_id)


@members
def record_page(page: Page) -> Response:
    service = records(page)
    view = object_view(page, service)
    if view is None:
        return _not_found(page)
    assert page.actor is not None
    try:
        record = service.get(page.actor, view.name, page.request.path_params["id"], include_deleted=True)
    except NotFound:
        return _not_found(page)
    notices = {"saved": "ws.form.saved", "submitted": "ws.approval.submitted", "recalled": "ws.approval.recalled"}
    notice = next((page.t.t(key) for asked, key in notices.items() if page.request.query_params.get(asked)), None)
    return render_record(page, view, service, record, notice=notice)


def render_record(page: Page, view: ObjectView, service: RecordsService, record: dict[str, Any],
                  notice: str | None = None, error: str | None = None, status: int = 200) -> Response:
    shows = presenter(page, service)
    cells = shows.rows(view, view.readable, [record])[0]
    deleted = record.get("deleted_at")
    return page.render("record.html", {
        "view": view, "record": record, "fields": [(c, cells[c.name]) for c in view.readable],
        "title": cells[view.obj.display_field].text if view.obj.display_field in cells else record["id"],
        "deleted": shows.when(deleted) if deleted else None,
        "may_edit": not deleted and may(view, "update", record), "may_delete": may(view, "delete", record),
        "related": [] if deleted else _related(page, view, service, shows, record["id"]),
        "history": _history(page, view, service, record["id"]),
        "approvals": approval_pages.approvals_section(page, view, service, record),
        "scores": _scores(page, view, service, record["id"]),
        "app": app_base(page), "notice": notice, "error": error,
    }, status)


def _related(page: Page, view: ObjectView, service: RecordsService, shows: Presenter, record_id: str) -> list[Related]:
    assert page.actor is not None
    found = []
    for child, via in service.registry.compiled[view.name].reverse.values():
        if page.actor.policy.scope(child, "read") is Scope.NONE or not page.actor.policy.can_read_field(child, via):
            continue
        child_view = ObjectView(service.registry.objects[child], page.actor, page.t.language)
        columns = [c for n in child_view.default_columns if n != via and (c := child_view.column(n)) is not None]
        listed = service.list(page.actor, child, PageRequest(where={via: {"_eq": record_id}}, first=RELATED_ROWS))
        rows = shows.rows(child_view, columns[:RELATED_COLUMNS], listed.records)
        via_column = child_view.column(via)
        found.append(Related(child_view, f"{app_base(page)}/{child}", via, via_column.label if via_column else via, columns[:RELATED_COLUMNS],
                             [(r["id"], row) for r, row in zip(listed.records, rows, strict=True)], listed.page.has_next))
    return found


def _history(page: Page, view: ObjectView, service: RecordsService, record_id: str) -> list[dict[str, Any]]:
    assert page.actor is not None
    shows = presenter(page, service)
    rows = service.history(page.actor, view.name, record_id)
    people = user_names(service.db, [r["changed_by"] for r in rows])
    out = []
    for row in reversed(rows):  # newest first
        column = view.column(row["field"])
        if column is None:
            continue
        out.append({"at": shows.when(row["changed_at"]), "who": people.get(row["changed_by"], row["changed_by"]),
                    "field": column.label, "old": _shown(shows, column, row["old_value"]),
                    "new": _shown(shows, column, row["new_value"])})
    return out


def _shown(shows: Presenter, column: Column, value: Any) -> str:
    """A history value (kept as JSON: text for dates and amounts) shown like the field's values."""
    if value is None:
        return ""
    try:
        return shows.text(column.field, coerce(column.field, value, shows.timezone))
    except CoercionError:
        return str(value)


def _scores(page: Page, view: ObjectView, service: RecordsService, record_id: str) -> list[Scored]:
    assert page.actor is not None
    found = []
    for model in sorted(models_of(service.registry.metadata).values(), key=lambda m: m.name):
        if model.object != view.name or not page.actor.policy.can_read_field(view.name, model.score_field):
            continue
        try:
            found.append(Scored(model.name, explain(service, page.actor, view.name, record_id, model.name, history=5)))
        except NotFound:
            found.append(Scored(model.name, None))
    return found


@members
def delete(page: Page) -> Response:
    return _set_deleted(page, deleting=True)


@members
def restore(page: Page) -> Response:
    return _set_deleted(page, deleting=False)


def _set_deleted(page: Page, deleting: bool) -> Response:
    view = object_view(page)
    if view is None:
        return _not_found(page)
    assert page.actor is not None
    service, record_id = records(page), page.request.path_params["id"]
    try:
        if deleting:
            version = page.value("version")
            service.delete(page.actor, view.name, record_id, int(version) if version.isdigit() else None)
        else:
            service.restore(page.actor, view.name, record_id)
    except NotFound:
        return _not_found(page)
    except RuntimeProblem as problem:
        record = service.get(page.actor, view.name, record_id, include_deleted=True)
        return render_record(page, view, service, record, error=str(problem), status=409 if problem.code == "CONFLICT" else 403)
    return page.redirect(f"{app_base(page)}/{view.name}/{record_id}")


@members
def submit_for_approval(page: Page) -> Response:
    """Submit the record for an approval process, with a comment."""
    return _approval_call(page, "submitted", lambda view, record_id: approval_pages.submit(page, view, record_id))


@members
def recall_approval(page: Page) -> Response:
    """The submitter withdraws their pending request."""
    return _approval_call(page, "recalled", lambda view, record_id: approval_pages.recall(
        page, view, record_id, page.request.path_params["request"]))


def _approval_call(page: Page, done: str, call: Callable[[ObjectView, str], approval_pages.Refusal | None]) -> Response:
    view = object_view(page)
    if view is None:
        return _not_found(page)
    assert page.actor is not None
    service, record_id = records(page), page.request.path_params["id"]
    try:
        refused = call(view, record_id)
        if refused is None:
            return approval_pages.redirect_to_record(page, view, record_id, done)
        record = service.get(page.actor, view.name, record_id, include_deleted=True)
    except NotFound:
        return _not_found(page)
    return render_record(page, view, service, record, error=refused[0], status=refused[1])
