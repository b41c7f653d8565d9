"""Metrics: the list with each one's label and definition, and a metric's form (numerator and
denominator aggregates with their conditions, period field and default period, groupings,
labels and definitions in both languages) with a live preview.

Saving goes through `MetadataStore.save_draft` with the version check, after the metadata
validation of the drafts with the change; its errors are shown beside the form field their JSON
path names. The preview computes the form's metric as it is now, unsaved, through the metrics
runtime (`compute_metric`, which `trellis metrics show` and GraphQL use) over the published
records with the signed-in admin's permissions, for the period the admin picks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from trellis.designer.fieldforms import NAME, Problem, label_text
from trellis.designer.item_checks import item_errors
from trellis.designer.messages import say
from trellis.designer.web import Page
from trellis.metadata.model import MetadataSet
from trellis.metadata.objects import label_of
from trellis.platform.clock import utc_now
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.metrics.compute import Figure, compile_metric, compute_metric
from trellis.runtime.metrics.periods import parse_period
from trellis.runtime.releases import DraftConflict, item_version

KIND = "metric"
FUNCTIONS = ("count", "sum", "avg", "min", "max")
FORMATS = ("number", "money", "percent")
SIDES = {"num": "numerator", "den": "denominator"}
KEYS = ("label_en", "label_zh", "definition_en", "definition_zh", "object", "period_field", "default_period", "format",
        "num_function", "num_value", "num_where", "den_function", "den_value", "den_where", "group_by")
_PIN = {"x-label": "label_en", "definition": "definition_en", "object": "object", "period_field": "period_field",
        "default_period": "default_period", "format": "format", "group_by": "group_by"}


def metrics_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    drafts, drafted = store.draft_set(), store.drafts()
    lang = page.t.language
    metrics = [{"name": name, "label": label_text(doc.get("x-label"), lang, name),
                "definition": label_text(doc.get("definition"), lang, ""), "object": doc.get("object"),
                "draft": (KIND, name) in drafted}
               for name, doc in sorted(drafts.documents(KIND).items())]
    return page.render("metrics.html", {"metrics": metrics})


def metric_new(page: Page) -> Response:
    """A new metric: its name, object, labels and definition; it starts as a count of the
    object's records, which its own page then shapes (with the preview beside it)."""
    store = page.services.store(page.tenant_name)
    drafts = store.draft_set()
    values = {k: page.value(k) for k in ("name", "object", "label_en", "label_zh", "definition_en", "definition_zh")}
    context: dict[str, Any] = {"values": values, "objects": sorted(drafts.documents("object")), "errors": {}}
    if page.request.method == "GET":
        return page.render("metric_new.html", context)
    name = values["name"]
    problems: list[Problem] = []
    if not NAME.match(name):
        problems.append(("name", "form.bad_name" if name else "form.required_value", {}))
    elif name in drafts.documents(KIND):
        problems.append(("name", "form.exists", {"name": name}))
    starting = {**values, "format": "number", "num_function": "count", "group_by": ""}
    document, own = document_of(starting, {})
    problems += own
    if not problems:
        problems = _metadata_problems(page, drafts, name, document)
    if problems:
        return page.render("metric_new.html", {**context, "errors": page.errors(problems),
                                               "error": page.t.t("form.fix")}, 422)
    try:
        store.save_draft(KIND, name, document, page.author, expected=item_version(None))
    except DraftConflict:
        return page.render("metric_new.html", {**context, "errors": page.errors(
            [("name", "form.exists", {"name": name})]), "error": page.t.t("form.fix")}, 409)
    return page.redirect(f"{page.base}/metrics/{name}?done=saved")


def _texts(labels: Any) -> tuple[str, str]:
    found = label_of(labels or {})
    return found.get("en", found.get("*", "")), found.get("zh-CN", "")


def values_of(document: Mapping[str, Any]) -> dict[str, str]:
    """What the form shows for a metric as drafted."""
    label_en, label_zh = _texts(document.get("x-label"))
    definition_en, definition_zh = _texts(document.get("definition"))
    values = {"label_en": label_en, "label_zh": label_zh, "definition_en": definition_en,
              "definition_zh": definition_zh, "object": document.get("object", ""),
              "period_field": document.get("period_field", ""), "default_period": document.get("default_period", ""),
              "format": document.get("format", "number"), "group_by": ", ".join(document.get("group_by", ()))}
    for short, side in SIDES.items():
        part = document.get(side) or {}
        values.update({f"{short}_function": part.get("function", ""), f"{short}_value": part.get("value", ""),
                       f"{short}_where": part.get("where", "")})
    return values


def document_of(values: Mapping[str, str], existing: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The metric the form describes over the drafted one (its `$comment` and unknown keys
    kept), and the problems the form itself sees."""
    problems: list[Problem] = []
    updated = copy.deepcopy(dict(existing))
    for key, en, zh in (("x-label", "label_en", "label_zh"), ("definition", "definition_en", "definition_zh")):
        texts = {lang: values[k] for lang, k in (("en", en), ("zh-CN", zh)) if values.get(k)}
        if texts:
            updated[key] = texts
        else:
            updated.pop(key, None)
            problems.append((en, "form.required_value", {}))
    for key in ("object", "period_field", "default_period"):
        if values.get(key):
            updated[key] = values[key]
        else:
            updated.pop(key, None)
    if not values.get("object"):
        problems.append(("object", "form.required_value", {}))
    updated["format"] = values.get("format") if values.get("format") in FORMATS else "number"
    for short, side in SIDES.items():
        function = values.get(f"{short}_function", "")
        if short == "den" and not function:
            updated.pop(side, None)
            continue
        if function not in FUNCTIONS:
            problems.append((f"{short}_function", "form.required_value", {}))
            function = "count"
        part = {"function": function}
        for key in ("value", "where"):
            if values.get(f"{short}_{key}"):
                part[key] = values[f"{short}_{key}"]
        updated[side] = part
    groups = [g.strip() for g in re.split(r"[,，\s]+", values.get("group_by", "")) if g.strip()]
    if groups:
        updated["group_by"] = list(dict.fromkeys(groups))
    else:
        updated.pop("group_by", None)
    if values.get("default_period"):
        try:
            parse_period(values["default_period"], utc_now().date())
        except RuntimeProblem as error:
            problems.append(("default_period", "form.metadata_error",
                             {"message": "; ".join(p.message for p in error.problems)}))
    return updated, problems


def _pin(path: str) -> str:
    key = path[2:].split(".")[0].split("[")[0] if path.startswith("$.") else ""
    if key in SIDES.values():
        short = next(s for s, side in SIDES.items() if side == key)
        rest = path[len(f"$.{key}"):]
        return f"{short}_value" if rest.startswith(".value") else f"{short}_where" if rest.startswith(
            ".where") else f"{short}_function"
    return _PIN.get(key, "object")


def _problems(page: Page, name: str, values: Mapping[str, str], existing: Mapping[str, Any]) -> tuple[
        dict[str, Any], list[Problem]]:
    document, problems = document_of(values, existing)
    if not problems:
        problems = _metadata_problems(page, page.services.store(page.tenant_name).draft_set(), name, document)
    return document, problems


def _metadata_problems(page: Page, drafts: MetadataSet, name: str, document: Mapping[str, Any]) -> list[Problem]:
    """The metadata validation's errors of this metric, beside their form fields, in the page's language."""
    return [(_pin(e.path), "form.metadata_error", {"message": say(page.t, e.message)})
            for e in item_errors(drafts, KIND, name, document)]


def _context(page: Page, name: str, values: Mapping[str, str]) -> dict[str, Any]:
    drafts = page.services.store(page.tenant_name).draft_set()
    t = page.t.t
    return {"name": name, "values": values, "objects": sorted(drafts.documents("object")), "errors": {},
            "functions": FUNCTIONS, "formats": FORMATS,
            "format_labels": {"number": t("metrics.format_number"), "money": t("metrics.format_money"),
                              "percent": t("metrics.format_percent")},
            "den_labels": {"": t("metrics.no_denominator"), **{f: f for f in FUNCTIONS}}}


def metric_page(page: Page) -> Response:
    name = page.request.path_params["metric"]
    store = page.services.store(page.tenant_name)
    document = page.draft(KIND, name)
    if document is None:
        return page.refuse(404)
    if page.request.method == "GET":
        context = {**_context(page, name, values_of(document)), "version": item_version(document)}
        if page.request.query_params.get("done") == "saved":
            context["notice"] = page.t.t("form.saved")
        return page.render("metric.html", context)
    values = {k: page.value(k) for k in KEYS}
    version = page.value("version")
    context = {**_context(page, name, values), "version": version, "period": page.value("period")}
    updated, problems = _problems(page, name, values, document)
    if problems:
        return page.render("metric.html", {**context, "errors": page.errors(problems), "error": page.t.t("form.fix")},
                           422)
    try:
        store.save_draft(KIND, name, updated, page.author, expected=version)
    except DraftConflict:
        return page.render("metric.html", {**context, "error": page.t.t("form.conflict", what=page.t.t("nav.metrics"))},
                           409)
    return page.redirect(f"{page.base}/metrics/{name}?done=saved")


def metric_preview(page: Page) -> Response:
    """htmx: the form's metric computed now for the chosen period, as the signed-in admin may see it."""
    name = page.request.path_params["metric"]
    existing = page.draft(KIND, name)
    if existing is None:
        return page.refuse(404)
    values = {k: page.value(k) for k in KEYS}
    document, problems = _problems(page, name, values, existing)
    if problems:
        return page.render("metric_preview.html", {"problems": [page.t.t(k, **v) for _, k, v in problems]})
    if page.actor is None:
        return page.refuse(401)
    records = page.services.records(page.tenant_name)
    if document["object"] not in records.registry.objects:
        return page.render("metric_preview.html", {"problems": [page.t.t("metrics.object_unpublished",
                                                                          object=document["object"])]})
    drafted = ("object", document["object"]) in page.services.store(page.tenant_name).drafts()
    try:
        with records.db.read() as conn:
            result = compute_metric(conn, records.registry, page.actor, compile_metric(name, document),
                                    records.context(), page.value("period") or None, None, page.t.language)
    except RuntimeProblem as error:
        return page.render("metric_preview.html", {"problems": [p.message for p in error.problems] or [str(error)]})
    period = result.period
    span = (f"{period.start.isoformat()} … {(period.end - timedelta(days=1)).isoformat()}"
            if period.start is not None and period.end is not None else page.t.t("metrics.all_time"))
    return page.render("metric_preview.html", {
        "problems": [], "result": result, "span": span, "shown": shown(result.metric.format, result.total),
        "object_drafted": drafted})


def shown(style: str, figure: Figure) -> dict[str, str]:
    """A figure as the preview prints it: the value in the metric's format, and its parts."""
    def number(value: Decimal | int | None) -> str:
        return "—" if value is None else f"{value:,}" if isinstance(value, int) else f"{value.normalize():,f}"

    if figure.value is None:
        value = ""
    elif style == "percent" and figure.denominator is not None:
        value = f"{(figure.value * 100).quantize(Decimal('0.1'))}%"
    elif style == "money":
        value = f"{Decimal(figure.value).quantize(Decimal('0.01')):,}"
    else:
        value = number(figure.value)
    return {"value": value, "numerator": number(figure.numerator),
            "denominator": "" if figure.denominator is None else number(figure.denominator)}
