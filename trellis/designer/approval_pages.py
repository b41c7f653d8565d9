"""Approval processes: the list, a new process, and one process's page — its form (steps in
order with their approvers, mode, condition, escalation and reminder; the entry condition,
submitters, lock and outcomes), a picture of the flow drawn from the draft as edited, and the
simulator for a chosen record run against the draft (the runtime's `approvals.simulator`, as
`trellis approvals simulate` and GraphQL's `simulateApproval` run it over the published one).

Edits are drafts through `MetadataStore.save_draft` with the version the form was opened at;
the step buttons (add, remove, move, add an approver) re-show the form without saving, so what
was typed is kept until "Save draft".
"""

from __future__ import annotations

import copy
import re
from typing import Any

from starlette.responses import Response

from trellis.designer import approval_forms as forms
from trellis.designer.fieldforms import NAME, Problem, label_text
from trellis.designer.flow_svg import Words, approver_text, escalation_text, flow_svg, mode_text
from trellis.designer.web import Page
from trellis.metadata.approval_processes import OUTCOMES
from trellis.metadata.model import MetadataSet
from trellis.metadata.roles import ADMIN_ROLE
from trellis.metadata.validation import source_file, validate_set
from trellis.runtime.approvals.simulator import Simulation, simulate
from trellis.runtime.errors import NotFound, RuntimeProblem
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.registry import registry_for
from trellis.runtime.releases import DraftConflict, item_version

KIND = "approval_process"
MAX_RECORDS = 30
_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


def approvals_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    drafted = store.drafts()
    current = store.current()
    published = current.metadata.documents(KIND) if current else {}
    rows = []
    for name, document in sorted(store.draft_set().documents(KIND).items()):
        state = "new" if name not in published else "draft" if (KIND, name) in drafted else "published"
        rows.append({"name": name, "label": label_text(document.get("x-label"), page.t.language, name),
                     "object": document.get("object"), "entry": document.get("entry_condition", ""),
                     "steps": len(document.get("steps", [])), "state": state,
                     "active": document.get("active", True)})
    return page.render("approvals.html", {"processes": rows, "labels": labels(page.t.t)})


def approval_new(page: Page) -> Response:
    """A new process: its name, object and labels; it starts with one step asking the
    submitter's manager, which its own page then edits."""
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    objects = sorted(drafts.documents("object"))
    values = {k: page.value(k) for k in ("name", "object", "label_en", "label_zh")}
    context: dict[str, Any] = {"values": values, "objects": objects, "errors": {}}
    if page.request.method == "GET":
        return page.render("approval_new.html", context)
    problems: list[Problem] = []
    if not values["name"]:
        problems.append(("name", "form.required_value", {}))
    elif not NAME.match(values["name"]):
        problems.append(("name", "form.bad_name", {}))
    elif values["name"] in drafts.documents(KIND):
        problems.append(("name", "form.exists", {"name": values["name"]}))
    if values["object"] not in objects:
        problems.append(("object", "form.required_value", {}))
    document: dict[str, Any] = {"object": values["object"], "steps": [
        {"name": "manager", "label": {"en": "Manager", "zh-CN": "直属上级"}, "approvers": [{"manager": 1}]}]}
    labels = {lang: values[k] for lang, k in (("en", "label_en"), ("zh-CN", "label_zh")) if values[k]}
    if labels:
        document["x-label"] = labels
    if not problems:
        problems = _invalid(drafts, values["name"], document, forms.Rows())
        problems = [(f if f in values else "name", k, v) for f, k, v in problems]
    if problems:
        return page.render("approval_new.html", {**context, "errors": page.errors(problems),
                                                 "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft(KIND, values["name"], document, page.author, expected=item_version(None))
    except DraftConflict:
        return page.render("approval_new.html", {**context, "errors": page.errors(
            [("name", "form.exists", {"name": values["name"]})])}, 409)
    return page.redirect(f"{page.base}/approvals/{values['name']}?done=saved")


def _invalid(drafts: MetadataSet, name: str, document: dict[str, Any], rows: forms.Rows) -> list[Problem]:
    """The metadata validation's problems with this process among the drafts, pinned to fields."""
    items = dict(drafts.items())
    items[(KIND, name)] = document
    file = source_file((KIND, name))
    return [(forms.pin(e.path, rows), "form.metadata_error", {"message": e.message})
            for e in validate_set(MetadataSet(items)) if e.file == file]


def approval_page(page: Page) -> Response:
    name = page.request.path_params["process"]
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    stored = drafts.documents(KIND).get(name)
    if stored is None:
        return page.refuse(404)
    stored = copy.deepcopy(dict(stored))
    context: dict[str, Any] = {"name": name, "errors": {}}
    status = 200
    if page.request.method == "GET":
        values, version, shown = forms.values_of(stored), item_version(stored), stored
    else:
        version = page.value("version")
        values = forms.read_form(page.value, page.ticked, stored)
        op = page.value("op")
        if op and op != "save":
            if not forms.apply_op(values, op):
                return page.refuse(404)
            shown, _, _ = forms.document_of(values, stored)
        else:
            shown, problems, rows = forms.document_of(values, stored)
            if not problems:
                problems = _invalid(drafts, name, shown, rows)
            if problems:
                context.update(errors=page.errors(problems), error=page.t.t("form.fix"))
                status = 422
            else:
                try:
                    store.save_draft(KIND, name, shown, page.author, expected=version)
                    return page.redirect(f"{page.base}/approvals/{name}?done=saved")
                except DraftConflict:
                    context["error"] = page.t.t("form.conflict", what=page.t.t("approvals.what"))
                    status = 409
    if page.request.query_params.get("done") == "saved":
        context["notice"] = page.t.t("form.saved")
    simulation = _simulator(page, name, stored)
    ran = {s.name: s.runs for s in simulation["result"].steps} if simulation.get("result") else None
    values = forms.with_blank_rows(values)
    context.update(values=values, flat=forms.flat(values), version=version, choices=_choices(page, drafts, values),
                   flow=flow_svg(shown, page.t.t, page.t.language, ran), simulation=simulation,
                   words=_words(page, shown), labels=labels(page.t.t))
    return page.render("approval.html", context, status)


def approval_flow(page: Page) -> Response:
    """The flow of the form as it stands, not saved: what the page's picture shows as the
    admin edits (htmx posts the form on every change), or the stored draft's on a GET."""
    name = page.request.path_params["process"]
    stored = page.draft(KIND, name)
    if stored is None:
        return page.refuse(404)
    shown: Any = stored
    if page.request.method == "POST":
        values = forms.read_form(page.value, page.ticked, stored)
        shown, _, _ = forms.document_of(values, stored)
    svg = flow_svg(shown, page.t.t, page.t.language)
    media = "image/svg+xml" if page.request.method == "GET" else "text/html"
    return Response(svg, media_type=media, headers={"Cache-Control": "no-store"})


def _choices(page: Page, drafts: MetadataSet, values: dict[str, Any]) -> dict[str, Any]:
    """What the selects and suggestion lists offer: objects, roles, the object's text fields, users."""
    obj = drafts.documents("object").get(values["object"], {})
    fields = sorted(f for f, schema in obj.get("properties", {}).items()
                    if schema.get("type") == "string" and "format" not in schema) + ["owner_id"]
    return {"objects": sorted(drafts.documents("object")), "roles": [ADMIN_ROLE, *sorted(drafts.names("role"))],
            "fields": sorted(set(fields)), "users": [u.email for u in page.services.users(page.tenant_name).list_users()
                                                     if u.active],
            "kind_options": ("", *forms.APPROVER_KINDS), "modes": forms.MODES, "escalations": forms.ESCALATIONS,
            "locks": forms.LOCKS, "submitters": forms.SUBMITTERS, "channels": forms.CHANNELS,
            "self_approval": forms.SELF_APPROVAL, "outcomes": OUTCOMES, "notify_channels": forms.NOTIFY_CHANNELS,
            "recipients": forms.RECIPIENTS}


def labels(t: Words) -> dict[str, dict[str, str]]:
    """The words of each choice the pages offer (approver kinds, modes…), in the page's language."""
    groups: dict[str, tuple[str, ...]] = {
        "kind": ("none", *forms.APPROVER_KINDS), "kind_hint": ("none", *forms.APPROVER_KINDS),
        "state": ("new", "draft", "published"), "channel": forms.CHANNELS, "outcome": OUTCOMES,
        "submitter": forms.SUBMITTERS, "mode": forms.MODES, "esc": ("none", *forms.ESCALATIONS[1:]),
        "lock": forms.LOCKS, "self": forms.SELF_APPROVAL, "outcome_title": OUTCOMES,
        "notify_channel": ("none", *forms.NOTIFY_CHANNELS[1:]), "recipient": forms.RECIPIENTS}
    out = {group: {key: t(f"approvals.{group}.{key}") for key in keys} for group, keys in groups.items()}
    for group in ("kind", "kind_hint", "esc", "notify_channel"):
        out[group][""] = out[group]["none"]  # the empty choice of a select
    return out


def _words(page: Page, document: Any) -> dict[str, Any]:
    """Per outcome, the actions the form does not edit, as one line each."""
    return {o: [_action_line(a) for a in forms.values_of(document)[f"{o}_other"]] for o in OUTCOMES}


def _action_line(action: Any) -> str:
    parts = [str(action.get("type", "?"))]
    for key in ("channel", "object", "subject", "url"):
        if key in action:
            parts.append(str(action[key]))
    return " · ".join(parts)


# -- the simulator ---------------------------------------------------------------------------------


def _simulator(page: Page, name: str, document: dict[str, Any]) -> dict[str, Any]:
    """The record picker and, for a chosen record, the simulation of the saved draft."""
    services = page.services
    registry = services.registry(page.tenant_name)
    object_name = document.get("object", "")
    if object_name not in registry.objects:
        return {"unavailable": page.t.t("approvals.sim.object_unpublished", object=object_name)}
    find = (page.request.query_params.get("find") or "").strip()
    chosen = (page.request.query_params.get("record") or "").strip()
    if not chosen and _ID.match(find):
        chosen = find
    records = services.records(page.tenant_name)
    actor = page.actor
    assert actor is not None  # the designer's pages are for signed-in admins
    shown = registry.objects[object_name].display_field
    where = {shown: {"_ilike": f"%{find}%"}} if find and shown and not _ID.match(find) else None
    found = records.list(actor, object_name, PageRequest(where=where, first=MAX_RECORDS)).records
    options = [(r["id"], str(r.get(shown) or r["id"]) if shown else r["id"]) for r in found]
    submitter = (page.request.query_params.get("submitter") or "").strip()
    people = [(u.email, u.name) for u in services.users(page.tenant_name).list_users() if u.active]
    out: dict[str, Any] = {"find": find, "record": chosen, "options": options, "submitter": submitter,
                           "people": people}
    if not chosen:
        return out
    current = services.store(page.tenant_name).current()
    assert current is not None  # the object is published
    items = dict(current.metadata.items())
    items[(KIND, name)] = document
    metadata = MetadataSet(items)
    file = source_file((KIND, name))
    errors = [e for e in validate_set(metadata) if e.file == file]
    if errors:
        out["problems"] = [f"{e.path}: {e.message}" for e in errors]
        return out
    tenant = page.tenant
    assert tenant is not None
    try:
        result = simulate(services.database(page.tenant_name), registry_for(registry.tenant, registry.release, metadata),
                          actor, object_name, chosen, process=name, submitter=submitter or None,
                          timezone=tenant.timezone,
                          locale=page.t.language)
    except NotFound:
        out["problems"] = [page.t.t("approvals.sim.no_record", record=chosen)]
        return out
    except RuntimeProblem as problem:
        out["problems"] = [str(problem)]
        return out
    out.update(result=result, path=_path(page, result), record_name=dict(options).get(chosen, chosen))
    out["steps"] = [_step_view(page, document, step) for step in result.steps]
    return out


def _path(page: Page, result: Simulation) -> list[str]:
    """Submit → the steps that would run → approved (any approver may reject at each)."""
    t = page.t.t
    if not result.entry_condition_met:
        return [t("approvals.flow.submit"), t("approvals.flow.not_entered")]
    ran = [f"{i}. {s.label}" for i, s in enumerate(result.steps, start=1) if s.runs]
    return [t("approvals.flow.submit"), *ran, t("approvals.flow.approved")]


def _step_view(page: Page, document: dict[str, Any], step: Any) -> dict[str, Any]:
    spec: dict[str, Any] = next((s for s in document.get("steps", []) if s.get("name") == step.name), {})
    t = page.t.t
    return {"step": step, "named": ", ".join(approver_text(a, t) for a in spec.get("approvers", [])),
            "mode": mode_text(spec.get("mode", "any"), t),
            "escalation": escalation_text(spec["escalation"], t) if "escalation" in spec else ""}
