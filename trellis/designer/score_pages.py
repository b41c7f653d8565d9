"""Score models: the list, a model's form (factors with weights as numbers and sliders, scales,
blank handling, bands, schedule, fields that rescore), and the backtest of the edited draft.

Saving goes through `MetadataStore.save_draft` with the `item_version` the form was opened on.
The form is checked by the metadata validation over the drafts as they would be with the
change (weights that do not sum to 100, gapped or overlapping bands…), each error beside the
form field its JSON path names. As the admin types, htmx asks `score_check` about a factor's
value expression and `score_weights` for the running total (and keeps a weight's number and
slider together); neither saves anything.

The backtest re-scores the published model's snapshots with the form's model as the candidate
(`trellis.runtime.scores.backtest`, as `trellis scores backtest --candidate` does) and shows churn
per band and AUC of both side by side.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from trellis.designer.fieldforms import Problem, label_text
from trellis.designer.item_checks import item_errors
from trellis.designer.messages import say
from trellis.designer.scoreforms import (
    BLANKS,
    DIRECTIONS,
    SCALES,
    Built,
    ModelForm,
    document_of,
    form_of,
    pin,
    posted,
    total_weight,
)
from trellis.designer.web import Page
from trellis.metadata.score_models import TOTAL_WEIGHT
from trellis.runtime.errors import InvalidInput
from trellis.runtime.releases import DraftConflict, item_version
from trellis.runtime.scores.backtest import backtest
from trellis.runtime.scores.model import compile_model, model_named

KIND = "score_model"


def scores_page(page: Page) -> Response:
    store = page.services.store(page.tenant_name)
    drafts, drafted = store.draft_set(), store.drafts()
    models = [{"name": name, "label": label_text(doc.get("x-label"), page.t.language, name), "object": doc.get("object"),
               "factors": len(doc.get("factors", [])), "bands": [b.get("value") for b in doc.get("bands", [])],
               "draft": (KIND, name) in drafted, "active": doc.get("active", True)}
              for name, doc in sorted(drafts.documents(KIND).items())]
    return page.render("scores.html", {"models": models})


def _problems(page: Page, name: str, built: Built) -> list[Problem]:
    """The form's own problems, else the metadata validation's errors of this model, pinned."""
    if built.problems:
        return built.problems
    return [(pin(error.path, built), "form.metadata_error", {"message": say(page.t, error.message)})
            for error in item_errors(page.services.store(page.tenant_name).draft_set(), KIND, name, built.document)]


def _context(page: Page, name: str, document: Any, form: ModelForm) -> dict[str, Any]:
    shown = form.with_empty_rows()
    total = total_weight(form)
    return {"name": name, "object": document.get("object"), "score_field": document.get("score_field"),
            "band_field": document.get("band_field"), "values": shown.values, "factors": shown.factors,
            "bands": shown.bands, "scales": SCALES, "directions": DIRECTIONS, "blanks": BLANKS,
            "total": total, "total_ok": total == TOTAL_WEIGHT, "want": TOTAL_WEIGHT, "errors": {},
            "has_backtest": "backtest" in document,
            "scale_labels": {"linear": page.t.t("scores.linear"), "thresholds": page.t.t("scores.thresholds")},
            "direction_labels": {"higher_is_better": page.t.t("scores.higher_better"),
                                 "lower_is_better": page.t.t("scores.lower_better")},
            "blank_labels": {"exclude": page.t.t("scores.blank_exclude"), "neutral": page.t.t("scores.blank_neutral")}}


def score_page(page: Page) -> Response:
    name = page.request.path_params["model"]
    store = page.services.store(page.tenant_name)
    document = page.draft(KIND, name)
    if document is None:
        return page.refuse(404)
    if page.request.method == "GET":
        context = _context(page, name, document, form_of(document))
        if page.request.query_params.get("done") == "saved":
            context["notice"] = page.t.t("form.saved")
        return page.render("score.html", {**context, "version": item_version(document)})
    form = posted(page.value, page.ticked)
    built = document_of(form, document)
    version = page.value("version")
    context = {**_context(page, name, document, form), "version": version}
    problems = _problems(page, name, built)
    if problems:
        return page.render("score.html", {**context, "errors": page.errors(problems), "error": page.t.t("form.fix")},
                           422)
    try:
        store.save_draft(KIND, name, built.document, page.author, expected=version)
    except DraftConflict:
        return page.render("score.html", {**context, "error": page.t.t(
            "form.conflict", what=page.t.t("nav.scores"))}, 409)
    return page.redirect(f"{page.base}/score-models/{name}?done=saved")


def _form_document(page: Page) -> tuple[str, Any, ModelForm] | None:
    name = page.request.path_params["model"]
    document = page.draft(KIND, name)
    if document is None:
        return None
    return name, document, posted(page.value, page.ticked)


def score_check(page: Page) -> Response:
    """htmx, as a factor's value is typed: the metadata validation's verdict on it."""
    found = _form_document(page)
    if found is None:
        return page.refuse(404)
    name, document, form = found
    target = page.request.headers.get("hx-trigger-name", "")
    built = document_of(form, document)
    built.problems = []  # judge the expression even while other fields are half-filled
    messages = [page.t.t(key, **values) for form_field, key, values in _problems(page, name, built)
                if form_field == target]
    if not page.value(target):
        messages = [page.t.t("form.required_value")]
    return page.render("score_check.html", {"messages": messages, "field": target})


def score_weights(page: Page) -> Response:
    """htmx, as a weight's number or slider moves: the total, and the weight's other control set
    to the same value (an out-of-band swap), so neither needs a script."""
    found = _form_document(page)
    if found is None:
        return page.refuse(404)
    name, _, form = found
    target = page.request.headers.get("hx-trigger-name", "")
    moved = page.value(target) if target else ""
    which = re.fullmatch(r"factor_(\d+)_weight(_slider)?", target)
    row = int(which.group(1)) if which and int(which.group(1)) < len(form.factors) else None
    if row is not None:
        form.factors[row]["weight"] = moved
    total = total_weight(form)
    return page.render("score_weights.html", {"total": total, "total_ok": total == TOTAL_WEIGHT, "want": TOTAL_WEIGHT,
                                              "row": row, "weight": moved, "name": name,
                                              "slider": bool(which and which.group(2))})


def score_backtest(page: Page) -> Response:
    """htmx: the published model's backtest with the form's model as the candidate."""
    found = _form_document(page)
    if found is None:
        return page.refuse(404)
    name, document, form = found
    built = document_of(form, document)
    problems = _problems(page, name, built)
    if problems:
        return page.render("score_backtest.html", {"problems": [page.t.t(k, **v) for _, k, v in problems]})
    registry = page.services.registry(page.tenant_name)
    published = registry.metadata.documents(KIND).get(name)
    if published is None:
        return page.render("score_backtest.html", {"problems": [page.t.t("scores.not_published")]})
    records = page.services.records(page.tenant_name)
    try:
        with records.db.read() as conn:
            result = backtest(conn, registry, model_named(registry.metadata, name), published, records.context(),
                              compile_model(name, built.document))
    except InvalidInput as invalid:
        return page.render("score_backtest.html", {"problems": [p.message for p in invalid.problems]})
    rows = _side_by_side(result.current.bands, result.candidate.bands if result.candidate else [])
    return page.render("score_backtest.html", {"result": result, "rows": rows, "problems": []})


def _side_by_side(current: Any, candidate: Any) -> list[dict[str, Any]]:
    """One row per band of either model: (band, published outcome, draft outcome)."""
    mine = {b.band: b for b in current}
    theirs = {b.band: b for b in candidate}
    return [{"band": band, "current": mine.get(band), "candidate": theirs.get(band)}
            for band in dict.fromkeys([*mine, *theirs])]
