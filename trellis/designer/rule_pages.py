"""Workflow rules: a form for the trigger (record, date with offsets and time of day, schedule),
the condition and each message's templates, saved as a draft; beside it the preview calendar of
what the drafts would do over the next days (the automation preview `trellis automation preview
--drafts` runs, as of now) and a rendered sample message for a chosen record.
"""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.responses import Response

from trellis.designer.fieldforms import NAME, Problem, label_text
from trellis.designer.messages import say
from trellis.designer.web import Page
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.metadata.validation import source_file, validate_set
from trellis.platform.clock import utc_now
from trellis.runtime.access import Actor
from trellis.runtime.automation.preview import PreviewItem, draft_registry, preview
from trellis.runtime.errors import NotFound
from trellis.runtime.registry import Registry, registry_for
from trellis.runtime.releases import DraftConflict, MetadataStore, item_version

PREVIEW_DAYS = 90
MAX_SAMPLE_RECORDS = 20
TRIGGERS = ("record", "date", "schedule")
#: what a new rule starts with, per trigger kind (its page then edits it)
_STARTING_TRIGGERS: dict[str, dict[str, Any]] = {
    "record": {"type": "record", "events": ["created"]},
    "date": {"type": "date", "field": "created_at", "offset": [0], "unit": "days", "at": "09:00"},
    "schedule": {"type": "schedule", "cron": "0 9 * * 1"},
}
EVENTS = ("created", "updated", "deleted")
TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_PIN = {"trigger": "trigger_type", "condition": "condition", "actions": "actions", "x-label": "label_en"}


def rules_page(page: Page) -> Response:
    drafts = page.services.store(page.tenant_name).draft_set()
    rules = [{"name": name, "label": label_text(doc.get("x-label"), page.t.language, name), "object": doc.get("object"),
              "trigger": (doc.get("trigger") or {}).get("type", ""), "active": doc.get("active", True)}
             for name, doc in sorted(drafts.documents("workflow_rule").items())]
    return page.render("rules.html", {"rules": rules})


def rule_new(page: Page) -> Response:
    """A new rule: its name, object and trigger kind; it starts with one in-app message to the
    record's owner, which the rule's own page then edits (with the preview beside it)."""
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    objects = sorted(drafts.documents("object"))
    values = {k: page.value(k) for k in ("name", "object", "trigger_type", "label_en", "label_zh")}
    context: dict[str, Any] = {"values": values, "objects": objects, "errors": {}}
    if page.request.method == "GET":
        return page.render("rule_new.html", context)
    problems: list[Problem] = []
    if not values["name"]:
        problems.append(("name", "form.required_value", {}))
    elif not NAME.match(values["name"]):
        problems.append(("name", "form.bad_name", {}))
    elif values["name"] in drafts.documents("workflow_rule"):
        problems.append(("name", "form.exists", {"name": values["name"]}))
    if values["object"] not in objects:
        problems.append(("object", "form.required_value", {}))
    kind = values["trigger_type"] if values["trigger_type"] in TRIGGERS else "record"
    trigger = dict(_STARTING_TRIGGERS[kind])
    if kind == "date":  # the object's first date field, which the rule's page can change
        properties = drafts.documents("object").get(values["object"], {}).get("properties", {})
        trigger["field"] = next((f for f, schema in properties.items()
                                 if schema.get("format") in ("date", "date-time")), "created_at")
    document: dict[str, Any] = {"object": values["object"], "trigger": trigger,
                                "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                                             "subject": "{{ record.name }}", "body": "{{ record.name }}"}]}
    labels = {lang: values[k] for lang, k in (("en", "label_en"), ("zh-CN", "label_zh")) if values[k]}
    if labels:
        document["x-label"] = labels
    if not problems:
        items = dict(drafts.items())
        items[("workflow_rule", values["name"])] = document
        file = source_file(("workflow_rule", values["name"]))
        problems = [(_pin(e.path), "form.metadata_error", {"message": say(page.t, e.message)})
                    for e in validate_set(MetadataSet(items)) if e.file == file]
        problems = [("trigger_type" if f in ("field", "offsets", "events", "cron") else f, k, v)
                    for f, k, v in problems]
    if problems:
        return page.render("rule_new.html", {**context, "errors": page.errors(problems),
                                             "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft("workflow_rule", values["name"], document, page.author, expected=item_version(None))
    except DraftConflict:
        return page.render("rule_new.html", {**context, "errors": page.errors(
            [("name", "form.exists", {"name": values["name"]})])}, 409)
    return page.redirect(f"{page.base}/rules/{values['name']}?done=saved")


def _values(document: dict[str, Any]) -> dict[str, Any]:
    trigger = document.get("trigger") or {}
    offsets = trigger.get("offset", [])
    offsets = offsets if isinstance(offsets, list) else [offsets]
    labels = document.get("x-label") or {}
    labels = labels if isinstance(labels, dict) else {"en": labels}
    return {"label_en": labels.get("en", ""), "label_zh": labels.get("zh-CN", ""),
            "active": "on" if document.get("active", True) else "", "trigger_type": trigger.get("type", "date"),
            "field": trigger.get("field", ""), "offsets": ",".join(str(-o) for o in offsets),
            "at": trigger.get("at", ""), "timezone": trigger.get("timezone", ""), "cron": trigger.get("cron", ""),
            "events": list(trigger.get("events", [])), "condition": document.get("condition", ""),
            "actions": [{"type": a.get("type"), "channel": a.get("channel", ""), "subject": a.get("subject", ""),
                         "body": a.get("body", "")} for a in document.get("actions", [])]}


def _from_form(page: Page, document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[Problem]]:
    """(the rule as the form says, the values to show again, the form's own problems)."""
    values: dict[str, Any] = {k: page.value(k) for k in ("label_en", "label_zh", "trigger_type", "field", "offsets", "at",
                                         "timezone", "cron", "condition")}
    values["active"] = "on" if page.ticked("active") else ""
    values["events"] = [e for e in EVENTS if page.ticked(f"event_{e}")]
    updated = copy.deepcopy(document)
    problems: list[Problem] = []
    labels = {lang: values[k] for lang, k in (("en", "label_en"), ("zh-CN", "label_zh")) if values[k]}
    if labels:
        updated["x-label"] = labels
    if values["active"]:
        if updated.get("active") is False:
            del updated["active"]  # active is the default: left out, as the apps write it
    else:
        updated["active"] = False
    kind = values["trigger_type"]
    if kind == "date":
        try:
            offsets = [-int(part) for part in values["offsets"].replace("，", ",").split(",") if part.strip()]
        except ValueError:
            offsets = []
        if not offsets:
            problems.append(("offsets", "rules.offsets_bad", {}))
        trigger: dict[str, Any] = {"type": "date", "field": values["field"], "offset": offsets, "unit": "days"}
        if values["at"]:
            if not TIME.match(values["at"]):
                problems.append(("at", "rules.time_bad", {}))
            trigger["at"] = values["at"]
        if values["timezone"]:
            trigger["timezone"] = values["timezone"]
    elif kind == "schedule":
        trigger = {"type": "schedule", "cron": values["cron"]}
        if values["timezone"]:
            trigger["timezone"] = values["timezone"]
    else:
        trigger = {"type": "record", "events": values["events"]}
        old = document.get("trigger") or {}
        trigger.update({k: old[k] for k in ("fields", "timing") if old.get("type") == "record" and k in old})
    updated["trigger"] = trigger
    if values["condition"]:
        updated["condition"] = values["condition"]
    else:
        updated.pop("condition", None)
    actions = []
    for index, action in enumerate(updated.get("actions", [])):
        action = dict(action)
        for key in ("subject", "body"):
            sent = page.form.get(f"action_{index}_{key}")
            if isinstance(sent, str) and key in action:
                action[key] = sent
        actions.append(action)
    updated["actions"] = actions
    values["actions"] = _values(updated)["actions"]
    return updated, values, problems


def _pin(path: str) -> str:
    key = path[2:].split(".")[0].split("[")[0] if path.startswith("$.") else ""
    if key == "trigger":
        rest = path[len("$.trigger"):]
        for part, form_field in ((".offset", "offsets"), (".at", "at"), (".timezone", "timezone"),
                                 (".cron", "cron"), (".field", "field"), (".events", "events")):
            if rest.startswith(part):
                return form_field
        return "trigger_type"
    match = re.match(r"^\$\.actions\[(\d+)\]\.(subject|body)", path)
    if match:
        return f"action_{match.group(1)}_{match.group(2)}"
    return _PIN.get(key, "condition")


def rule_page(page: Page) -> Response:
    name = page.request.path_params["rule"]
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    document = drafts.documents("workflow_rule").get(name)
    if document is None:
        return page.refuse(404)
    document = copy.deepcopy(dict(document))
    context: dict[str, Any] = {"name": name, "object": document.get("object"), "events": EVENTS, "errors": {}}
    if page.request.method == "GET":
        values, version, status = _values(document), item_version(document), 200
    else:
        version = page.value("version")
        updated, values, problems = _from_form(page, document)
        if not problems:
            items = dict(drafts.items())
            items[("workflow_rule", name)] = updated
            file = source_file(("workflow_rule", name))
            problems = [(_pin(e.path), "form.metadata_error", {"message": say(page.t, e.message)})
                        for e in validate_set(MetadataSet(items)) if e.file == file]
        status = 200
        if problems:
            context.update(errors=page.errors(problems), error=page.t.t("form.fix"))
            status = 422
        else:
            try:
                store.save_draft("workflow_rule", name, updated, page.author, expected=version)
                return page.redirect(f"{page.base}/rules/{name}?done=saved")
            except DraftConflict:
                context["error"] = page.t.t("form.conflict", what=page.t.t("nav.rules"))
                status = 409
    if page.request.query_params.get("done") == "saved":
        context["notice"] = page.t.t("form.saved")
    context.update(values=values, version=version, **_preview(page, name))
    return page.render("rule_edit.html", context, status)


def _preview(page: Page, name: str) -> dict[str, Any]:
    """The calendar of the drafts' firings of this rule and one sample message."""
    found = page.services.tenant(page.tenant_name)
    try:
        zone = ZoneInfo(found.timezone)
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("UTC")
    store = page.services.store(page.tenant_name)
    current = page.services.registry(page.tenant_name)
    try:
        registry = _rules_drafted(store, current) if _unstored_drafts(store) else draft_registry(store, current)
        items = preview(page.services.database(page.tenant_name), registry, zone, found.locale, utc_now(),
                        PREVIEW_DAYS, name)
    except MetadataInvalid as invalid:
        return {"preview_errors": [f"{e.file}: {e.path}: {say(page.t, e.message)}" for e in invalid.errors],
                "days": [], "sample": None}
    except NotFound:
        items = []  # not a timed rule, or not active
    today = utc_now().astimezone(zone).date()
    return {"days": _calendar(items, today), "count": len(items), "preview_days": PREVIEW_DAYS,
            "objects_drafted": _unstored_drafts(store),
            "sample": _sample(items, page.request.query_params.get("record")), "records": _records(page, items),
            "preview_errors": []}


def _unstored_drafts(store: MetadataStore) -> bool:
    """Whether objects are drafted: their new fields have no columns until published, so the
    preview then runs the drafted rules over the published objects."""
    return any(kind == "object" for kind, _ in store.drafts())


def _rules_drafted(store: MetadataStore, current: Registry) -> Registry:
    """The published release with only the drafted workflow rules applied, validated."""
    items = dict(current.metadata.items())
    for (kind, name), document in store.drafts().items():
        if kind == "workflow_rule":
            if document is None:
                items.pop((kind, name), None)
            else:
                items[(kind, name)] = document
    metadata = MetadataSet(items)
    errors = validate_set(metadata)
    if errors:
        raise MetadataInvalid(errors)
    return registry_for(current.tenant, current.release, metadata)


def _calendar(items: list[PreviewItem], today: date) -> list[dict[str, Any]]:
    by_day: dict[date, int] = {}
    for item in items:
        by_day[item.day] = by_day.get(item.day, 0) + 1
    start = today - timedelta(days=today.weekday())  # the calendar's rows start on Monday
    end = today + timedelta(days=PREVIEW_DAYS)
    return [{"day": start + timedelta(days=i), "count": by_day.get(start + timedelta(days=i), 0),
             "outside": not today < start + timedelta(days=i) <= end}
            for i in range((end - start).days + 1)]


def _records(page: Page, items: list[PreviewItem]) -> list[tuple[str, str]]:
    """(id, what the admin recognises it by) of the first records the preview has a message for."""
    records = page.services.records(page.tenant_name)
    out = []
    for item in list({i.record_id: i for i in items if i.subject or i.body}.values())[:MAX_SAMPLE_RECORDS]:
        try:
            record = records.get(page.actor or Actor.system(), item.object, item.record_id)
        except NotFound:
            continue
        shown = records.registry.objects[item.object].display_field
        out.append((item.record_id, str(record.get(shown) or item.record_id) if shown else item.record_id))
    return out


def _sample(items: list[PreviewItem], record: str | None) -> PreviewItem | None:
    messages = [i for i in items if i.subject or i.body]
    return next((i for i in messages if i.record_id == record), messages[0] if messages else None)
