"""Roles: what the holders of each role may do, edited as a grid of controls and saved as drafts.

A role (`trellis.metadata.roles`) grants per object create (yes/no), read, update and delete
(none, own or all records) and per field none, read or edit. The page shows one row per object
of the drafts and, under it, one control per field; a cell's name says what it sets
(`read.contract`, `field.contract.amount`), and an error the metadata validation finds at
`$.objects.contract.update` is shown beside the cell `update.contract`. Saving goes through
`MetadataStore.save_draft` with the `item_version` the page was opened on, so a role another
admin changed meanwhile is not overwritten. A role some users hold is not removed: the page
names them, and their roles are changed on their user pages first.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from trellis.designer.fieldforms import NAME, Problem, label_text
from trellis.designer.messages import say
from trellis.designer.web import Page
from trellis.metadata.model import MetadataSet
from trellis.metadata.names import STANDARD_COLUMNS
from trellis.metadata.roles import ADMIN_ROLE, SCOPES, grants_of
from trellis.metadata.validation import source_file, validate_set
from trellis.runtime.releases import DraftConflict, item_version

ACTIONS = ("read", "update", "delete")  # each a record scope; create is yes/no
FIELD_ACCESS = ("edit", "read", "none")  # edit first: what a field left out gets


def _roles(page: Page) -> Mapping[str, Mapping[str, Any]]:
    return page.services.store(page.tenant_name).draft_set().documents("role")


def _holders(page: Page, role: str) -> list[str]:
    """The emails of the users who hold `role` (active or not: reactivating one brings it back)."""
    return [u.email for u in page.services.users(page.tenant_name).list_users() if role in u.roles]


def roles_page(page: Page) -> Response:
    """The roles of the drafts, and a form to create one."""
    store = page.services.store(page.tenant_name)
    drafted = store.drafts()
    lang = page.t.language
    values = {k: page.value(k) for k in ("name", "label_en", "label_zh")}
    roles = [{"name": name, "label": label_text(doc.get("x-label"), lang, name),
              "objects": len(grants_of(doc)), "draft": ("role", name) in drafted, "holders": _holders(page, name)}
             for name, doc in sorted(_roles(page).items())]
    context: dict[str, Any] = {"roles": roles, "values": values, "errors": {}, "admin_role": ADMIN_ROLE,
                               "admin_holders": _holders(page, ADMIN_ROLE)}
    if page.request.query_params.get("done") == "removed":
        context["notice"] = page.t.t("form.saved")
    if page.request.method == "GET":
        return page.render("roles.html", context)
    name = values["name"]
    problems: list[Problem] = []
    if not name:
        problems.append(("name", "form.required_value", {}))
    elif not NAME.match(name):
        problems.append(("name", "form.bad_name", {}))
    elif name == ADMIN_ROLE or name.lower() in {r.lower() for r in _roles(page)}:
        problems.append(("name", "form.exists", {"name": name}))
    document: dict[str, Any] = {"objects": {}}
    labels = {lang: values[key] for lang, key in (("en", "label_en"), ("zh-CN", "label_zh")) if values[key]}
    if labels:
        document["x-label"] = labels
    if not problems:
        problems = _problems(page, name, document)
    if problems:
        return page.render("roles.html", {**context, "errors": page.errors(problems),
                                          "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft("role", name, document, page.author, expected=item_version(None))
    except DraftConflict:
        return page.render("roles.html", {**context, "errors": {"name": page.t.t("form.exists", name=name)},
                                          "error": page.t.t("form.fix")}, 409)
    return page.redirect(f"{page.base}/roles/{name}?done=saved")


# -- one role's grid -------------------------------------------------------------------------

def _objects(page: Page, document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The grid's rows: every object of the drafts (and any the role names that is gone), with
    the fields a permission can be set on."""
    objects = page.services.store(page.tenant_name).draft_set().documents("object")
    grants = grants_of(document)
    rows = []
    for name in sorted(set(objects) | set(grants)):
        obj = objects.get(name, {})
        fields = [f for f in obj.get("properties", {}) if f not in STANDARD_COLUMNS]
        fields += [f for f in grants.get(name, {}).get("fields", {}) if f not in fields]
        rows.append({"name": name, "label": label_text(obj.get("x-label"), page.t.language, name),
                     "fields": [{"name": f, "label": label_text(obj.get("properties", {}).get(f, {}).get("x-label"),
                                                                page.t.language, f)} for f in fields]})
    return rows


def values_from_role(document: Mapping[str, Any]) -> dict[str, str]:
    """What the grid shows for a role document: one value per cell."""
    labels = document.get("x-label", {})
    labels = labels if isinstance(labels, dict) else {"en": labels}
    values = {"label_en": labels.get("en", ""), "label_zh": labels.get("zh-CN", "")}
    for obj, grant in grants_of(document).items():
        if grant.get("create"):
            values[f"create.{obj}"] = "on"
        for action in ACTIONS:
            values[f"{action}.{obj}"] = str(grant.get(action, "none"))
        for field, access in grant.get("fields", {}).items():
            values[f"field.{obj}.{field}"] = str(access)
    return values


def role_from_values(values: Mapping[str, str], objects: list[dict[str, Any]],
                     existing: Mapping[str, Any]) -> dict[str, Any]:
    """The role document the grid describes. An object granted nothing is left out; a field that
    may be edited (the default) is left out; keys the grid does not show are kept."""
    document = {k: copy.deepcopy(v) for k, v in existing.items() if k not in ("objects", "x-label")}
    labels = {lang: values[key] for lang, key in (("en", "label_en"), ("zh-CN", "label_zh")) if values.get(key)}
    if labels:
        document["x-label"] = labels
    grants: dict[str, Any] = {}
    for row in objects:
        obj = row["name"]
        grant: dict[str, Any] = {}
        if values.get(f"create.{obj}"):
            grant["create"] = True
        for action in ACTIONS:
            scope = values.get(f"{action}.{obj}", "none") or "none"
            if scope != "none":
                grant[action] = scope  # anything but the three scopes is left to the meta-schema to name
        fields = {f["name"]: values[f"field.{obj}.{f['name']}"] for f in row["fields"]
                  if values.get(f"field.{obj}.{f['name']}", "edit") not in ("edit", "")}
        if fields:
            grant["fields"] = fields
        if grant:
            grants[obj] = grant
    document["objects"] = grants
    return document


def _cell_of(path: str) -> str | None:
    """The grid cell a metadata error at `path` of a role document concerns ('' : the role as a whole)."""
    if path == "$":
        return "name"
    if path.startswith("$.x-label"):
        return "label_en"
    parts = path.split(".")
    if len(parts) >= 3 and parts[1] == "objects":
        obj = parts[2]
        if len(parts) >= 5 and parts[3] == "fields":
            return f"field.{obj}.{parts[4]}"
        if len(parts) >= 4 and parts[3] in ("create", *ACTIONS):
            return f"{parts[3]}.{obj}"
        return f"read.{obj}"
    return ""


def _problems(page: Page, name: str, document: Mapping[str, Any]) -> list[Problem]:
    """The metadata validation's errors of role `name` in the drafts as they would be with `document`."""
    items = dict(page.services.store(page.tenant_name).draft_set().items())
    items[("role", name)] = document
    file = source_file(("role", name))
    return [(_cell_of(e.path) or "", "form.metadata_error", {"message": say(page.t, e.message)})
            for e in validate_set(MetadataSet(items)) if e.file == file]


def role_page(page: Page) -> Response:
    name = page.request.path_params["role"]
    document = _roles(page).get(name)
    if document is None:
        return page.refuse(404)
    objects = _objects(page, document)
    context: dict[str, Any] = {"name": name, "label": label_text(document.get("x-label"), page.t.language, name),
                               "objects": objects, "scopes": SCOPES, "field_access": FIELD_ACCESS,
                               "actions": ACTIONS, "holders": _holders(page, name)}
    if page.request.method == "GET":
        if page.request.query_params.get("done") == "saved":
            context["notice"] = page.t.t("form.saved")
        return page.render("role.html", {**context, "values": values_from_role(document), "errors": {},
                                         "version": item_version(document)})
    values = {key: page.value(key) for key in page.form.keys() if key not in ("csrf", "version")}
    version = page.value("version")
    updated = role_from_values(values, objects, document)
    context.update(values=values, version=version)
    problems = _problems(page, name, updated)
    if problems:
        return page.render("role.html", {**context, "errors": page.errors(problems),
                                         "error": page.t.t("form.fix")}, 422)
    try:
        page.services.store(page.tenant_name).save_draft("role", name, updated, page.author, expected=version)
    except DraftConflict:
        return page.render("role.html", {**context, "errors": {}, "error": page.t.t(
            "form.conflict", what=page.t.t("roles.what"))}, 409)
    return page.redirect(f"{page.base}/roles/{name}?done=saved")


def role_delete(page: Page) -> Response:
    """Stage the role's removal, unless users hold it (they would keep a role that grants nothing
    and that no one could take from them here)."""
    name = page.request.path_params["role"]
    document = _roles(page).get(name)
    if document is None:
        return page.refuse(404)
    holders = _holders(page, name)
    if holders:
        return page.render("refused.html", {"title": page.t.t("roles.not_removed"), "message": page.t.t(
            "roles.held", role=name, users=", ".join(holders))}, 409)
    try:
        page.services.store(page.tenant_name).save_draft("role", name, None, page.author,
                                                         expected=page.value("version"))
    except DraftConflict:
        return page.render("refused.html", {"title": page.t.t("roles.not_removed"), "message": page.t.t(
            "form.conflict", what=page.t.t("roles.what"))}, 409)
    return page.redirect(f"{page.base}/roles?done=removed")
