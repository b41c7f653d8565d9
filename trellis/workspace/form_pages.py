"""Create and edit forms, generated from the object's fields the user may edit, written through
the records service (so defaults, validation, rules, formulas and permissions are the same as
for any other write).

A refused save shows each problem beside its field and keeps what was typed. A stale save
(someone else saved the record since the form was opened: `expected_version`) overwrites
nothing: the form comes back with the user's values, the saved ones beside them, and the new
version, so saving again is a deliberate overwrite. Lookups are selects that search the target
object as one types (htmx, `lookup_options`), among the records the user may read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from trellis.designer.web import Page
from trellis.metadata.definitions import FieldType
from trellis.runtime.errors import Conflict, Forbidden, InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService
from trellis.workspace.fields import Column, ObjectView
from trellis.workspace.record_pages import may
from trellis.workspace.web import app_base, members, object_view, presenter, records, refuse

LOOKUP_OPTIONS = 20
FormValues = dict[str, Any]  # field → what the form shows: text, or a list of texts for multi-selects


@dataclass(frozen=True)
class Difference:
    label: str
    theirs: str
    yours: str


def as_input(value: Any) -> Any:
    """A stored value as a form input's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value)


def typed(page: Page, view: ObjectView) -> FormValues:
    """What the user typed, per editable field (multi-selects as lists)."""
    return {c.name: [v for v in page.form.getlist(c.name) if isinstance(v, str)]
            if c.field.type is FieldType.MULTI_ENUM else page.value(c.name) for c in view.editable}


def changes_of(view: ObjectView, values: FormValues, creating: bool) -> dict[str, Any]:
    """The record input: blank is "no value" (left out when creating, so defaults apply)."""
    out: dict[str, Any] = {}
    for column in view.editable:
        value = values.get(column.name)
        blank = value in ("", None, [])
        if blank and creating:
            continue
        out[column.name] = None if blank and column.field.type is not FieldType.MULTI_ENUM else value
    return out


def field_errors(view: ObjectView, error: InvalidInput) -> tuple[dict[str, str], list[str]]:
    """Problems beside their fields; those of the record as a whole (or of a field not on the
    form) for the top of the form."""
    shown: dict[str, str] = {}
    other: list[str] = []
    on_form = {c.name for c in view.editable}
    for problem in error.problems:
        name = problem.path.split(".", 1)[0].split("[", 1)[0]
        if name in on_form:
            shown[name] = f"{shown[name]} {problem.message}" if name in shown else problem.message
        else:
            other.append(problem.message if problem.path == "$" else str(problem))
    return shown, other or ([] if shown else [error.message])


@members
def new_form(page: Page) -> Response:
    view = object_view(page)
    if view is None or not view.may("create"):
        return refuse(page, 404 if view is None else 403, page.t.t("refused.not_found_body") if view is None
                      else page.t.t("refused.not_allowed"))
    service = records(page)
    if page.request.method == "GET":
        return render_form(page, view, service, None, {})
    values = typed(page, view)
    assert page.actor is not None
    try:
        created = service.create(page.actor, view.name, changes_of(view, values, creating=True))
    except InvalidInput as error:
        errors, top = field_errors(view, error)
        return render_form(page, view, service, None, values, errors=errors, error=" ".join(top), status=400)
    except RuntimeProblem as error:
        return render_form(page, view, service, None, values, error=str(error), status=_status(error))
    return page.redirect(f"{app_base(page)}/{view.name}/{created['id']}?saved=1")


@members
def edit_form(page: Page) -> Response:
    view = object_view(page)
    if view is None:
        return refuse(page, 404, page.t.t("refused.not_found_body"))
    assert page.actor is not None
    service, record_id = records(page), page.request.path_params["id"]
    try:
        record = service.get(page.actor, view.name, record_id)
    except NotFound:
        return refuse(page, 404, page.t.t("refused.not_found_body"))
    if not may(view, "update", record):
        return refuse(page, 403, page.t.t("refused.not_allowed"))
    if page.request.method == "GET":
        return render_form(page, view, service, record, {c.name: as_input(record.get(c.name)) for c in view.editable})
    values = typed(page, view)
    version = page.value("version")
    try:
        service.update(page.actor, view.name, record_id, changes_of(view, values, creating=False),
                       expected_version=int(version) if version.isdigit() else None)
    except InvalidInput as error:
        errors, top = field_errors(view, error)
        return render_form(page, view, service, record, values, errors=errors, error=" ".join(top), status=400,
                           version=version)
    except Conflict as error:
        theirs = service.get(page.actor, view.name, record_id)
        return render_form(page, view, service, theirs, values, error=str(error), status=409,
                           conflict=_differences(view, theirs, values))
    except RuntimeProblem as error:
        return render_form(page, view, service, record, values, error=str(error), status=_status(error), version=version)
    return page.redirect(f"{app_base(page)}/{view.name}/{record_id}?saved=1")


def _status(error: RuntimeProblem) -> int:
    return 403 if isinstance(error, Forbidden) else 404 if isinstance(error, NotFound) else 400


def _differences(view: ObjectView, theirs: Mapping[str, Any], yours: FormValues) -> list[Difference]:
    """The fields where the saved record and the user's form differ."""
    out = []
    for column in view.editable:
        saved, typed_value = as_input(theirs.get(column.name)), yours.get(column.name, "")
        if saved != typed_value:
            out.append(Difference(column.label, _joined(saved), _joined(typed_value)))
    return out


def _joined(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def render_form(page: Page, view: ObjectView, service: RecordsService, record: Mapping[str, Any] | None,
                values: FormValues, *, errors: Mapping[str, str] | None = None, error: str | None = None,
                status: int = 200, version: str | None = None, conflict: list[Difference] | None = None) -> Response:
    return page.render("form.html", {
        "view": view, "record": record, "values": values, "errors": errors or {},
        "version": version or (str(record["version"]) if record else ""),
        "options": {c.name: _lookup_choices(page, service, c, values.get(c.name, ""))
                    for c in view.editable if c.field.type is FieldType.LOOKUP},
        "conflict": conflict, "app": app_base(page),
        "error": (page.t.t("ws.form.conflict", object=view.label) if conflict is not None
                  else (page.t.t("ws.form.fix") + " " + error if errors and error else error or
                        (page.t.t("ws.form.fix") if errors else None))),
    }, status)


def _lookup_choices(page: Page, service: RecordsService, column: Column, current: str,
                    search: str = "") -> list[tuple[str, str]]:
    """(id, name) of the target records to choose from: the current one first, then those whose
    display value contains `search`, among the records the user may read."""
    assert page.actor is not None and column.field.ref is not None
    target = service.registry.objects[column.field.ref]
    shown = target.display_field
    if shown is not None and not page.actor.policy.can_read_field(target.name, shown):
        shown = None
    choices: dict[str, str] = {}
    if current:
        choices.update({i: n for (_, i), n in presenter(page, service).lookup_names({target.name: [current]}).items()})
    where = {shown: {"_ilike": f"%{search}%"}} if shown and search else None
    order = [{shown: "ASC"}] if shown else None
    try:
        found = service.list(page.actor, target.name, PageRequest(where=where, order_by=order, first=LOOKUP_OPTIONS))
    except RuntimeProblem:  # the user may not read the target: only the current value
        return list(choices.items())
    for r in found.records:
        choices.setdefault(r["id"], str(r.get(shown) or r["id"]) if shown else r["id"])
    return list(choices.items())


@members
def lookup_options(page: Page) -> Response:
    """The `<option>`s of a lookup's select for what was typed in its search box (htmx)."""
    view = object_view(page)
    column = next((c for c in view.editable if c.name == page.request.query_params.get("field")), None) if view else None
    if view is None or column is None or column.field.type is not FieldType.LOOKUP:
        return refuse(page, 404, page.t.t("refused.not_found_body"))
    choices = _lookup_choices(page, records(page), column, "", page.request.query_params.get("q", "").strip())
    return page.render("_lookup_options.html", {"choices": choices, "current": "", "required": column.field.required})
