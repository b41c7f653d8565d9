"""Objects, their fields and validation rules: every edit is a draft, saved through
`MetadataStore.save_draft` (as the CLI and the metadata API do), never straight to a release.

Each form carries the `item_version` of the object it was opened on; saving with another one
(an admin changed the object meanwhile) is refused with the entries kept. A form is checked by
the metadata validation over the drafts as they would be with the change, and each error this
change causes is shown beside its form field; nothing is saved while any remains.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from starlette.responses import HTMLResponse, Response

from trellis.designer.fieldforms import (
    KINDS,
    NAME,
    RESULT_KINDS,
    ROLLUP_FUNCTIONS,
    Problem,
    form_field_of,
    label_text,
    schema_from_values,
    values_from_schema,
)
from trellis.designer.i18n import Translator
from trellis.designer.messages import say
from trellis.designer.web import Page
from trellis.metadata.model import MetadataSet
from trellis.metadata.renames import KEYWORD
from trellis.metadata.validation import source_file, validate_set
from trellis.runtime.releases import DraftConflict, item_version

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
FIELD_KEYS = ("name", "kind", "label_en", "label_zh", "required", "unique", "index", "default", "choices", "ref",
              "reverse", "formula", "result", "rollup_object", "rollup_via", "rollup_function", "rollup_field")
RULE_KEYS = ("name", "condition", "message_en", "message_zh")


def _metadata_problems(candidate: MetadataSet, name: str, pin: Any, t: Translator) -> list[Problem]:
    """Errors of object `name` in `candidate`, each pinned to a form field by `pin(path)` (None: not
    ours), in the page's language."""
    file = source_file(("object", name))
    problems: list[Problem] = []
    for error in validate_set(candidate):
        if error.file == file:
            form_field = pin(error.path)
            if form_field is not None:
                problems.append((form_field, "form.metadata_error", {"message": say(t, error.message)}))
    return problems


def _with(drafts: MetadataSet, name: str, document: Mapping[str, Any]) -> MetadataSet:
    items = dict(drafts.items())
    items[("object", name)] = document
    return MetadataSet(items)


def home(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    drafts, drafted = store.draft_set(), store.drafts()
    lang = page.t.language
    objects = [{"name": name, "label": label_text(doc.get("x-label"), lang, name),
                "fields": len(doc.get("properties", {})), "draft": ("object", name) in drafted}
               for name, doc in sorted(drafts.documents("object").items())]
    current = store.current_number()
    return page.render("home.html", {"objects": objects, "release": current, "drafts": len(drafted),
                                     "notice": _notice(page)})


NOTICES = {"saved": "form.saved", "discarded": "publish.discarded"}


def _notice(page: Page) -> str | None:
    """The notice a redirect after a POST asked for (`?done=saved`)."""
    key = NOTICES.get(page.request.query_params.get("done", ""))
    return page.t.t(key) if key else None


# -- objects -------------------------------------------------------------------------------

def object_new(page: Page) -> Response:
    values = {k: page.value(k) for k in ("name", "label_en", "label_zh")}
    if page.request.method == "GET":
        return page.render("object_new.html", {"values": values, "errors": {}})
    store = page.services.store(page.tenant_name)
    problems: list[Problem] = []
    name = values["name"]
    if not name:
        problems.append(("name", "form.required_value", {}))
    elif not NAME.match(name):
        problems.append(("name", "form.bad_name", {}))
    elif name in store.draft_set().documents("object"):
        problems.append(("name", "form.exists", {"name": name}))
    if not values["label_en"] and not values["label_zh"]:
        problems.append(("label_en", "form.required_value", {}))
    labels = {lang: values[key] for lang, key in (("en", "label_en"), ("zh-CN", "label_zh")) if values[key]}
    document = {"$schema": SCHEMA_URI, "type": "object", "x-label": labels,
                "properties": {"name": {"type": "string", "maxLength": 200,
                                        "x-label": {"en": "Name", "zh-CN": "名称"}}},
                "required": ["name"]}
    if not problems:
        problems = _metadata_problems(_with(store.draft_set(), name, document), name,
                                      lambda path: "name" if path in ("$", "$.x-plural") else "label_en", page.t)
    if problems:
        return page.render("object_new.html", {"values": values, "errors": page.errors(problems),
                                               "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft("object", name, document, page.author, expected=item_version(None))
    except DraftConflict:
        return page.render("object_new.html", {"values": values, "errors": {"name": page.t.t(
            "form.exists", name=name)}, "error": page.t.t("form.fix")}, 409)
    return page.redirect(f"{page.base}/objects/{name}?done=saved")


def _document(page: Page) -> tuple[str, Mapping[str, Any] | None]:
    name = page.request.path_params["object"]
    return name, page.draft("object", name)


def object_page(page: Page) -> Response:
    name, document = _document(page)
    if document is None:
        return page.refuse(404)
    lang = page.t.language
    required = set(document.get("required", []))
    fields = []
    for field, schema in document.get("properties", {}).items():
        values = values_from_schema(field, schema, field in required)
        fields.append({**values, "label": label_text(schema.get("x-label"), lang, field),
                       "kind_label": page.t.t(f"kind.{values['kind']}")})
    rules = [{"name": r.get("name", ""), "condition": r.get("condition", ""),
              "message": label_text(r.get("message"), lang, "")} for r in document.get("x-rules", [])]
    file = source_file(("object", name))
    problems = [e for e in validate_set(page.services.store(page.tenant_name).draft_set()) if e.file == file]
    return page.render("object.html", {
        "name": name, "label": label_text(document.get("x-label"), lang, name), "fields": fields, "rules": rules,
        "problems": problems, "version": item_version(document), "notice": _notice(page),
        "say": lambda message: say(page.t, message)})


# -- fields --------------------------------------------------------------------------------

def _field_context(page: Page, name: str, document: Mapping[str, Any], values: Mapping[str, str],
                   new: bool) -> dict[str, Any]:
    objects = sorted(page.services.store(page.tenant_name).draft_set().documents("object"))
    field = page.request.path_params.get("field")
    renamed_from = document.get("properties", {}).get(field, {}).get(KEYWORD) if field else None
    return {"object": name, "object_label": label_text(document.get("x-label"), page.t.language, name),
            "values": values, "new": new, "renamed_from": renamed_from, "kinds": KINDS, "result_kinds": RESULT_KINDS,
            "functions": ROLLUP_FUNCTIONS, "objects": objects}


def field_form(page: Page) -> Response:
    name, document = _document(page)
    if document is None:
        return page.refuse(404)
    field = page.request.path_params.get("field")
    properties = document.get("properties", {})
    if field is not None and field not in properties:
        return page.refuse(404)
    existing = properties.get(field) if field else None
    if page.request.method == "GET":
        values = (values_from_schema(field, existing, field in document.get("required", []))
                  if field and existing is not None else {"kind": page.request.query_params.get("kind", "text")})
        return page.render("field.html", {**_field_context(page, name, document, values, field is None),
                                          "errors": {}, "version": item_version(document)})
    return _save_field(page, name, document, field, existing)


def _save_field(page: Page, name: str, document: Mapping[str, Any], field: str | None,
                existing: Mapping[str, Any] | None) -> Response:
    values = {k: page.value(k) for k in FIELD_KEYS}
    if field is not None:
        values["name"] = field
        values["new_name"] = page.value("new_name")
    version = page.value("version")
    store = page.services.store(page.tenant_name)
    updated, problems = _field_document(values, document, field, existing)
    renamed = field is not None and values["new_name"] not in ("", field)
    if renamed and not problems:
        updated, problems = _renamed(page, name, updated, field or "", values["new_name"])
    if not problems:
        final = values["new_name"] if renamed else values["name"]
        problems = _metadata_problems(_with(store.draft_set(), name, updated), name,
                                      lambda path: form_field_of(path, final) or (
                                          "required" if path.startswith("$.required") else
                                          "new_name" if renamed else None), page.t)
        if renamed:
            problems += _rename_elsewhere(page, name, updated)
    context = {**_field_context(page, name, document, values, field is None), "version": version}
    if problems:
        return page.render("field.html", {**context, "errors": page.errors(problems),
                                          "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft("object", name, updated, page.author, expected=version)
    except DraftConflict:
        return page.render("field.html", {**context, "errors": {}, "error": page.t.t(
            "form.conflict", what=page.t.t("nav.objects"))}, 409)
    return page.redirect(f"{page.base}/objects/{name}?done=saved")


def _renamed(page: Page, name: str, document: Mapping[str, Any], field: str,
             new_name: str) -> tuple[dict[str, Any], list[Problem]]:
    """The object with `field` renamed to `new_name` in place: `x-renamed-from` names what it is
    called in the published release (so publishing keeps its column and values), none when the
    field is not published yet (a plain change of name) or is given its published name back."""
    if not NAME.match(new_name):
        return dict(document), [("new_name", "form.bad_name", {})]
    if new_name in document.get("properties", {}):
        return dict(document), [("new_name", "form.exists", {"name": new_name})]
    release = page.services.store(page.tenant_name).current()
    published = {} if release is None else release.metadata.documents("object").get(name, {}).get("properties", {})
    schema = dict(document["properties"][field])
    source = schema.pop(KEYWORD, None) if field not in published else field
    if source in published and source != new_name:
        schema[KEYWORD] = source
    updated = copy.deepcopy(dict(document))
    updated["properties"] = {new_name if f == field else f: schema if f == field else s
                             for f, s in document["properties"].items()}
    if field in updated.get("required", []):
        updated["required"] = [new_name if r == field else r for r in updated["required"]]
    return updated, []


def _rename_elsewhere(page: Page, name: str, updated: Mapping[str, Any]) -> list[Problem]:
    """Errors a rename causes in other items (a role's field permission, a rule's condition that
    names the old name): each shown beside the new name, so nothing breaks unseen at publish."""
    drafts = page.services.store(page.tenant_name).draft_set()
    own = source_file(("object", name))
    before = {(e.file, e.path) for e in validate_set(drafts)}
    return [("new_name", "form.metadata_error", {"message": f"{e.file}: {say(page.t, e.message)}"})
            for e in validate_set(_with(drafts, name, updated)) if e.file != own and (e.file, e.path) not in before]


def _field_document(values: Mapping[str, str], document: Mapping[str, Any], field: str | None,
                    existing: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Problem]]:
    """The object's document with the field as the form says, and the form's own problems."""
    problems: list[Problem] = []
    name = values["name"]
    if field is None:
        if not name:
            problems.append(("name", "form.required_value", {}))
        elif not NAME.match(name):
            problems.append(("name", "form.bad_name", {}))
        elif name in document.get("properties", {}):
            problems.append(("name", "form.exists", {"name": name}))
    schema, own = schema_from_values(values, existing)
    problems += own
    if existing is not None and KEYWORD in existing:  # a rename made earlier survives a change of kind
        schema[KEYWORD] = existing[KEYWORD]
    updated = copy.deepcopy(dict(document))
    updated.setdefault("properties", {})[name] = schema
    required = [r for r in updated.get("required", []) if r != name]
    if values.get("required"):
        required.append(name)
    if required:
        updated["required"] = required
    else:
        updated.pop("required", None)
    return updated, problems


def field_check(page: Page) -> Response:
    """htmx, as the admin types a formula: the metadata validation's verdict on it, as a snippet."""
    name, document = _document(page)
    if document is None:
        return page.refuse(404)
    field = page.value("field_name") or page.value("name") or "new_field"
    values = {**{k: page.value(k) for k in FIELD_KEYS}, "name": field, "kind": "formula"}
    if not values["formula"]:
        return HTMLResponse("")
    existing = document.get("properties", {}).get(field)
    updated, _ = _field_document({**values}, document, field if existing is not None else None, existing)
    problems = _metadata_problems(_with(page.services.store(page.tenant_name).draft_set(), name, updated), name,
                                  lambda path: form_field_of(path, field), page.t)
    messages = [values_["message"] for form_field, _, values_ in problems if form_field == "formula"]
    return page.render("formula_check.html", {"messages": messages})


def field_delete(page: Page) -> Response:
    name, document = _document(page)
    field = page.request.path_params["field"]
    if document is None or field not in document.get("properties", {}):
        return page.refuse(404)
    updated = copy.deepcopy(dict(document))
    del updated["properties"][field]
    required = [r for r in updated.get("required", []) if r != field]
    if required:
        updated["required"] = required
    else:
        updated.pop("required", None)
    return _save_removal(page, name, updated)


def rule_delete(page: Page) -> Response:
    name, document = _document(page)
    rule = page.request.path_params["rule"]
    rules = list((document or {}).get("x-rules", []))
    if document is None or not any(r.get("name") == rule for r in rules):
        return page.refuse(404)
    updated = copy.deepcopy(dict(document))
    updated["x-rules"] = [r for r in rules if r.get("name") != rule]
    if not updated["x-rules"]:
        del updated["x-rules"]
    return _save_removal(page, name, updated)


def _save_removal(page: Page, name: str, updated: Mapping[str, Any]) -> Response:
    """Save an object without one of its parts, unless someone changed it since the page showed it."""
    try:
        page.services.store(page.tenant_name).save_draft("object", name, updated, page.author,
                                                         expected=page.value("version"))
    except DraftConflict:
        return page.render("refused.html", {"title": page.t.t("refused.not_allowed"), "message": page.t.t(
            "form.conflict", what=page.t.t("nav.objects"))}, 409)
    return page.redirect(f"{page.base}/objects/{name}?done=saved")


# -- validation rules ------------------------------------------------------------------------

def rule_form(page: Page) -> Response:
    name, document = _document(page)
    if document is None:
        return page.refuse(404)
    values = {k: page.value(k) for k in RULE_KEYS}
    context = {"object": name, "object_label": label_text(document.get("x-label"), page.t.language, name),
               "values": values}
    if page.request.method == "GET":
        return page.render("rule.html", {**context, "errors": {}, "version": item_version(document)})
    version = page.value("version")
    problems: list[Problem] = []
    rules = list(document.get("x-rules", []))
    if not values["name"]:
        problems.append(("name", "form.required_value", {}))
    elif not NAME.match(values["name"]):
        problems.append(("name", "form.bad_name", {}))
    elif any(r.get("name") == values["name"] for r in rules):
        problems.append(("name", "form.exists", {"name": values["name"]}))
    for key in ("condition", "message_en"):
        if not values[key]:
            problems.append((key, "form.required_value", {}))
    message = {lang: values[key] for lang, key in (("en", "message_en"), ("zh-CN", "message_zh")) if values[key]}
    updated = copy.deepcopy(dict(document))
    updated["x-rules"] = [*rules, {"name": values["name"], "condition": values["condition"], "message": message}]
    index = len(rules)
    store = page.services.store(page.tenant_name)
    if not problems:
        def pin(path: str) -> str | None:
            prefix = f"$.x-rules[{index}]"
            if not path.startswith(prefix):
                return None
            rest = path[len(prefix):]
            return "message_en" if rest.startswith(".message") else "name" if rest.startswith(".name") else "condition"
        problems = _metadata_problems(_with(store.draft_set(), name, updated), name, pin, page.t)
    if problems:
        return page.render("rule.html", {**context, "version": version, "errors": page.errors(problems),
                                         "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft("object", name, updated, page.author, expected=version)
    except DraftConflict:
        return page.render("rule.html", {**context, "version": version, "errors": {}, "error": page.t.t(
            "form.conflict", what=page.t.t("nav.objects"))}, 409)
    return page.redirect(f"{page.base}/objects/{name}?done=saved")

