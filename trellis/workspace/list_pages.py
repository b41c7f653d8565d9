"""A list page per object: the columns, filters, sort and cursor paging of `ListQuery`, read
through the records service with the signed-in user's permissions; the CSV of the same view;
the user's saved views.
"""

from __future__ import annotations

import io
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

from trellis.designer.web import Page
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.records.csv_io import export_csv
from trellis.runtime.records.service import RecordsService
from trellis.workspace.fast_html import options_html, rows_html
from trellis.workspace.fields import ObjectView, readable_objects
from trellis.workspace.list_query import ListQuery, filter_rows, ops_for
from trellis.workspace.saved_views import SavedViews
from trellis.workspace.web import app_base, members, object_view, presenter, records, refuse


def _views(page: Page) -> SavedViews:
    assert page.actor is not None
    return SavedViews(page.services.database(page.tenant_name), page.actor.user_id)


def _not_found(page: Page) -> Response:
    return refuse(page, 404, page.t.t("refused.not_found_body"))


@members
def list_page(page: Page) -> Response:
    service = records(page)
    view = object_view(page, service)
    if view is None:
        return _not_found(page)
    query = ListQuery.read(page.request.query_params, view)
    return render_list(page, view, query, service=service)


def render_list(page: Page, view: ObjectView, query: ListQuery, notice: str | None = None,
                error: str | None = None, status: int = 200, service: RecordsService | None = None) -> Response:
    assert page.actor is not None
    service = service or records(page)
    columns = [c for name in query.columns if (c := view.column(name)) is not None]
    rows, ids, has_next, has_previous, start, end = [], [], False, False, None, None
    try:
        found = service.list(page.actor, view.name, query.request())
    except RuntimeProblem as problem:
        error = str(problem)
        status = 400
    else:
        rows = presenter(page, service).rows(view, columns, found.records)
        ids = [r["id"] for r in found.records]
        has_next = found.page.has_next or bool(query.before)
        has_previous = found.page.has_previous or bool(query.after)
        start, end = found.page.start_cursor, found.page.end_cursor
    if query.problems and error is None:
        error = page.t.t("ws.list.refused", names=", ".join(query.problems))
    return page.render("list.html", {
        "view": view, "query": query, "columns": columns, "rows": bool(rows),
        "body": rows_html(f"{app_base(page)}/{view.name}", columns, list(zip(ids, rows, strict=True))),
        "filters": _filter_rows(page, view, query),
        "choices": columns + [c for c in view.readable if c.name not in query.columns],
        "next": query.encode(after=end or "") if has_next and end else None,
        "previous": query.encode(before=start or "") if has_previous and start else None,
        "saved": _views(page).list(view.name), "app": app_base(page), "notice": notice, "error": error,
    }, status)


def _filter_rows(page: Page, view: ObjectView, query: ListQuery) -> list[dict[str, Any]]:
    """Each filter row of the form with its field and condition options (built once, marked per row)."""
    fields = [(c.name, c.label) for c in view.readable if ops_for(c.field.type)]
    ops = [(op, page.t.t(f"ws.op.{op}")) for op in sorted({op for c in view.readable for op in ops_for(c.field.type)})]
    return [{"filter": f, "fields": options_html(fields, f.field), "ops": options_html(ops, f.op)} for f in filter_rows(query)]


@members
def export(page: Page) -> Response:
    """The current view as CSV: its columns, filters and sort, every page; labels as headers in
    the page's language; formula-like text neutralised (csv_io)."""
    view = object_view(page)
    if view is None:
        return _not_found(page)
    assert page.actor is not None
    query = ListQuery.read(page.request.query_params, view)
    request = query.request()
    out = io.StringIO()
    try:
        export_csv(records(page), page.actor, view.name, out, where=request.where, order_by=request.order_by,
                   locale=page.t.language, bom=True, fields=query.columns)
    except RuntimeProblem as problem:
        return Response(str(problem), status_code=400, media_type="text/plain; charset=utf-8")
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{view.name}.csv"'})


@members
def save_view(page: Page) -> Response:
    """Save the current view (the form carries its query string) under a name."""
    view = object_view(page)
    if view is None:
        return _not_found(page)
    query = ListQuery.read(QueryParams(page.value("query")), view)
    try:
        _views(page).save(view.name, page.value("name"), query.encode())
    except RuntimeProblem as problem:
        return render_list(page, view, query, error=str(problem), status=400)
    return page.redirect(f"{app_base(page)}/{view.name}?{query.encode()}")


@members
def delete_view(page: Page) -> Response:
    view = object_view(page)
    if view is None:
        return _not_found(page)
    _views(page).delete(page.request.path_params["view"])
    return page.redirect(f"{app_base(page)}/{view.name}")


@members
def objects_page(page: Page) -> Response:
    """Every object the user may read, each a link to its list."""
    assert page.actor is not None
    objects = page.services.registry(page.tenant_name).objects
    return page.render("objects.html", {"views": readable_objects(objects, page.actor, page.t.language),
                                        "app": app_base(page)})
