"""A score model as the designer's form shows it, and back: form values ↔ the `score_model` document.

The admin edits factors (label, value expression, scale, weight, blank handling), bands,
schedule and the fields whose change rescores a record; everything else of the document
(object, stored fields, aggregates, backtest) is kept as it was. Form rows are numbered
`factor_<i>_<key>` and `band_<i>_<key>`; a row left entirely blank is dropped, so the form
always offers one empty row to add a factor or a band without a script.

Pure (no I/O): problems the form itself sees come back as (form field, catalogue key, values);
the metadata validation's errors are pinned to form fields by `pin` (the page words them in its
language by their codes, `trellis.designer.messages.say`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.designer.fieldforms import Problem
from trellis.metadata.objects import label_of
from trellis.metadata.score_models import STEP_KEY

FACTOR_KEYS = ("name", "label_en", "label_zh", "value", "scale", "direction", "low", "high", "steps", "otherwise",
               "weight", "blank", "neutral")
BAND_KEYS = ("value", "min", "max", "label_en", "label_zh")
SCALES = ("linear", "thresholds")
DIRECTIONS = ("higher_is_better", "lower_is_better")
BLANKS = ("exclude", "neutral")
_ROW = re.compile(r"^\$\.(factors|bands)\[(\d+)\](.*)$")
_FACTOR_PART = {".name": "name", ".label": "label_en", ".value": "value", ".weight": "weight", ".blank": "neutral",
                ".scale.low": "low", ".scale.high": "high", ".scale.steps": "steps", ".scale.otherwise": "otherwise",
                ".scale.direction": "direction", ".scale": "scale"}
_BAND_PART = {".value": "value", ".min": "min", ".max": "max", ".label": "label_en"}
#: the model's own keys, by the path prefix an error names; first match wins ("weights": their sum)
_MODEL_PART = (("$.factors", "weights"), ("$.bands", "bands"), ("$.schedule.timezone", "schedule_timezone"),
               ("$.schedule", "schedule_cron"), ("$.recompute_on_change", "recompute"), ("$.x-label", "label_en"))

@dataclass
class ModelForm:
    """What the form shows: the model's own values, one dict per factor row and per band row."""

    values: dict[str, str] = field(default_factory=dict)
    factors: list[dict[str, str]] = field(default_factory=list)
    bands: list[dict[str, str]] = field(default_factory=list)

    def with_empty_rows(self) -> ModelForm:
        """The form as shown: one blank factor and one blank band row to add with."""
        blank_factor = {k: "" for k in FACTOR_KEYS} | {"scale": "linear", "direction": "higher_is_better",
                                                       "blank": "exclude"}
        return ModelForm(self.values, [*self.factors, blank_factor], [*self.bands, {k: "" for k in BAND_KEYS}])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _labels(labels: Any) -> tuple[str, str]:
    found = label_of(labels or {})
    return found.get("en", found.get("*", "")), found.get("zh-CN", "")


def form_of(document: Mapping[str, Any]) -> ModelForm:
    """What the form shows for a model as drafted."""
    label_en, label_zh = _labels(document.get("x-label"))
    schedule = document.get("schedule") or {}
    values = {"label_en": label_en, "label_zh": label_zh, "active": "on" if document.get("active", True) else "",
              "schedule_cron": schedule.get("cron", ""), "schedule_timezone": schedule.get("timezone", ""),
              "recompute": ", ".join(document.get("recompute_on_change", ()))}
    factors = []
    for factor in document.get("factors", []):
        scale = factor.get("scale") or {}
        direction = scale.get("direction", "higher_is_better")
        key = STEP_KEY.get(direction, "min")
        f_en, f_zh = _labels(factor.get("label"))
        blank = factor.get("blank", "exclude")
        factors.append({
            "name": factor.get("name", ""), "label_en": f_en, "label_zh": f_zh, "value": factor.get("value", ""),
            "scale": scale.get("type", "linear"), "direction": direction, "low": _text(scale.get("low")),
            "high": _text(scale.get("high")), "otherwise": _text(scale.get("otherwise")),
            "steps": "\n".join(f"{_text(s.get(key))}: {_text(s.get('points'))}" for s in scale.get("steps", [])),
            "weight": _text(factor.get("weight")), "blank": "neutral" if isinstance(blank, Mapping) else "exclude",
            "neutral": _text(blank.get("neutral")) if isinstance(blank, Mapping) else ""})
    bands = []
    for band in document.get("bands", []):
        b_en, b_zh = _labels(band.get("label"))
        bands.append({"value": band.get("value", ""), "min": _text(band.get("min")), "max": _text(band.get("max")),
                      "label_en": b_en, "label_zh": b_zh})
    return ModelForm(values, factors, bands)


def posted(get: Callable[[str], str], ticked: Callable[[str], bool]) -> ModelForm:
    """The form as posted: `get(name)` is a field's stripped text. Rows run until both the
    factor and the band of an index are missing from the post."""
    values = {k: get(k) for k in ("label_en", "label_zh", "schedule_cron", "schedule_timezone", "recompute")}
    values["active"] = "on" if ticked("active") else ""
    factors, bands = [], []
    index = 0
    while get(f"factor_{index}_present") or get(f"band_{index}_present"):
        if get(f"factor_{index}_present"):
            factors.append({k: get(f"factor_{index}_{k}") for k in FACTOR_KEYS})
        if get(f"band_{index}_present"):
            bands.append({k: get(f"band_{index}_{k}") for k in BAND_KEYS})
        index += 1
    return ModelForm(values, factors, bands)


def _number(text: str) -> int | float | None:
    try:
        number = float(text.replace("，", "").replace(",", "").strip())
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number) if number.is_integer() else number


def _labels_of(en: str, zh: str) -> dict[str, str]:
    return {lang: text for lang, text in (("en", en), ("zh-CN", zh)) if text}


def _filled(row: Mapping[str, str], keys: tuple[str, ...]) -> bool:
    return any(row.get(k) for k in keys)


@dataclass
class Built:
    """The document a form describes, its own problems, and which form row each item came from."""

    document: dict[str, Any]
    problems: list[Problem]
    factor_rows: list[int]
    band_rows: list[int]


def document_of(form: ModelForm, existing: Mapping[str, Any]) -> Built:
    """The model the form describes, over the drafted `existing` one (whose other keys stay)."""
    problems: list[Problem] = []
    updated = copy.deepcopy(dict(existing))
    labels = _labels_of(form.values.get("label_en", ""), form.values.get("label_zh", ""))
    if labels:
        updated["x-label"] = labels
    if form.values.get("active"):
        updated.pop("active", None)  # active is the default: left out, as the apps write it
    else:
        updated["active"] = False
    old_factors = {f.get("name"): f for f in existing.get("factors", [])}
    factors, factor_rows = [], []
    for row, values in enumerate(form.factors):
        if not _filled(values, ("name", "label_en", "label_zh", "value", "weight")):
            continue
        factor, own = _factor(row, values, old_factors.get(values.get("name")))
        factors.append(factor)
        factor_rows.append(row)
        problems += own
    updated["factors"] = factors
    bands, band_rows = [], []
    for row, values in enumerate(form.bands):
        if not _filled(values, ("value", "min", "max", "label_en", "label_zh")):
            continue
        band: dict[str, Any] = {"value": values.get("value", "")}
        for key in ("min", "max"):
            number = _number(values.get(key, ""))
            whole = isinstance(number, int) and 0 <= number <= 100
            if not whole:
                problems.append((f"band_{row}_{key}", "scores.whole_score", {}))
            band[key] = number if whole else 0
        if not band["value"]:
            problems.append((f"band_{row}_value", "form.required_value", {}))
        band_labels = _labels_of(values.get("label_en", ""), values.get("label_zh", ""))
        if band_labels:
            band["label"] = band_labels
        bands.append(band)
        band_rows.append(row)
    updated["bands"] = bands
    if not factors:
        problems.append(("weights", "scores.no_factors", {}))
    if not bands:
        problems.append(("bands", "scores.no_bands", {}))
    cron, zone = form.values.get("schedule_cron", ""), form.values.get("schedule_timezone", "")
    if cron:
        updated["schedule"] = {"cron": cron, **({"timezone": zone} if zone else {})}
    else:
        updated.pop("schedule", None)
        if zone:
            problems.append(("schedule_cron", "form.required_value", {}))
    watched = [w.strip() for w in re.split(r"[,，\s]+", form.values.get("recompute", "")) if w.strip()]
    if watched:
        updated["recompute_on_change"] = list(dict.fromkeys(watched))
    else:
        updated.pop("recompute_on_change", None)
    return Built(updated, problems, factor_rows, band_rows)


def _factor(row: int, values: Mapping[str, str], old: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Problem]]:
    problems: list[Problem] = []
    prefix = f"factor_{row}_"
    for key in ("name", "value"):
        if not values.get(key):
            problems.append((prefix + key, "form.required_value", {}))
    weight = _number(values.get("weight", ""))
    if weight is None:
        problems.append((prefix + "weight", "form.bad_number", {}))
    direction = values.get("direction", "")
    direction = direction if direction in DIRECTIONS else "higher_is_better"
    scale: dict[str, Any] = {"type": values.get("scale") if values.get("scale") in SCALES else "linear"}
    if scale["type"] == "linear":
        for key in ("low", "high"):
            number = _number(values.get(key, ""))
            if number is None:
                problems.append((prefix + key, "form.bad_number", {}))
            scale[key] = 0 if number is None else number
    else:
        steps, bad = _steps(values.get("steps", ""), STEP_KEY[direction])
        if bad or not steps:
            problems.append((prefix + "steps", "scores.steps_bad", {}))
        scale["steps"] = steps
        if values.get("otherwise"):
            otherwise = _number(values["otherwise"])
            if otherwise is None:
                problems.append((prefix + "otherwise", "form.bad_number", {}))
            else:
                scale["otherwise"] = otherwise
    if direction != "higher_is_better" or (old is not None and "direction" in (old.get("scale") or {})):
        scale["direction"] = direction
    factor: dict[str, Any] = {"name": values.get("name", ""),
                              "label": _labels_of(values.get("label_en", ""), values.get("label_zh", ""))
                              or values.get("name", "") or "?",
                              "value": values.get("value", ""), "scale": scale, "weight": 0 if weight is None else weight}
    if values.get("blank") == "neutral":
        neutral = _number(values.get("neutral", ""))
        if neutral is None:
            problems.append((prefix + "neutral", "form.bad_number", {}))
        factor["blank"] = {"neutral": 0 if neutral is None else neutral}
    elif old is not None and old.get("blank") == "exclude":
        factor["blank"] = "exclude"
    return factor, problems


def _steps(text: str, key: str) -> tuple[list[dict[str, Any]], bool]:
    """Lines `bound: points` (or `bound = points`) as threshold steps; whether any line was unreadable."""
    steps, bad = [], False
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = re.split(r"[:：=→]", line, maxsplit=1)
        bound, points = (_number(parts[0]), _number(parts[1])) if len(parts) == 2 else (None, None)
        if bound is None or points is None:
            bad = True
            continue
        steps.append({key: bound, "points": points})
    return steps, bad


def pin(path: str, built: Built) -> str:
    """The form field a metadata error at JSON `path` of the model concerns."""
    found = _ROW.match(path)
    if found:
        kind, index, rest = found.group(1), int(found.group(2)), found.group(3)
        rows, parts, prefix = ((built.factor_rows, _FACTOR_PART, "factor") if kind == "factors"
                               else (built.band_rows, _BAND_PART, "band"))
        row = rows[index] if index < len(rows) else index
        part = next((v for k, v in parts.items() if rest.startswith(k)), "name" if kind == "factors" else "min")
        return f"{prefix}_{row}_{part}"
    return next((form_field for prefix, form_field in _MODEL_PART if path.startswith(prefix)), "model")


def total_weight(form: ModelForm) -> float:
    return sum(_number(f.get("weight", "")) or 0 for f in form.factors)
