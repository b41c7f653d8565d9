"""The `score_model` kind: a 0-100 score of each record of one object, from weighted factors.

A model (`score_models/<name>.json`) names the object it scores, the field that stores the
score, the field that stores the band (and optionally one that stores the change since the
previous run, which rules read), named aggregates of related records, its factors (an expression
over the record, its lookups and those aggregates; a scale from the raw value to 0-100 points; a
weight; what a blank value means), its bands and its schedule. Everything the runtime
(`trellis.runtime.scores`) relies on is checked here, so a model that publishes is one that runs:
weights that sum to 100, bands that cover 0-100 once, scales that can be read one way, and
names and expressions that exist on the objects they speak of.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.metadata.cron import CronError, parse_cron
from trellis.metadata.definitions import DATE_TYPES, NUMBER_TYPES, FieldType
from trellis.metadata.errors import Parts, coded
from trellis.metadata.expressions import check
from trellis.metadata.kind import ItemProblem, Kind, Problem, Report, SetView
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import check_object_name
from trellis.metadata.object_checks import sound_objects
from trellis.metadata.suggestions import suggest
from trellis.metadata.workflow_rules import ObjectFields, object_fields, unknown_object

TOTAL_WEIGHT = 100
_BAND_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.ENUM})
#: The key a threshold step holds for each direction: the first step the raw value reaches wins.
STEP_KEY = {"higher_is_better": "min", "lower_is_better": "max"}


def sound_model(name: str, document: Mapping[str, Any], broken: Sequence[Parts], report: Report) -> Any:
    """What one model can be judged on alone: weights, factor names, scales, bands, aggregates."""
    if broken:
        return None
    problems = [*_weights(document["factors"]), *_factor_names(document["factors"]), *_bands(document["bands"])]
    for index, factor in enumerate(document["factors"]):
        problems.extend(_scale(("factors", index, "scale"), factor["scale"]))
    for key, aggregate in document.get("aggregates", {}).items():
        problems.extend(_aggregate_shape(("aggregates", key), aggregate))
    for parts, message in problems:
        report.add(parts, message)
    return None if problems else document


def _weights(factors: Sequence[Mapping[str, Any]]) -> Iterator[Problem]:
    negative = False
    for index, factor in enumerate(factors):
        if factor["weight"] < 0:
            negative = True
            yield ("factors", index, "weight"), coded("score.negative_weight", "a weight cannot be negative; got "
                                                      f"{factor['weight']}", weight=factor["weight"])
    total = sum(factor["weight"] for factor in factors)
    if not negative and total != TOTAL_WEIGHT:
        listing = " + ".join(f"{f['name']} {f['weight']}" for f in factors)
        yield ("factors",), coded("score.weights_sum", f"the weights must sum to {TOTAL_WEIGHT}; they sum to "
                                  f"{total:g} ({listing})", want=TOTAL_WEIGHT, total=f"{total:g}", listing=listing)


def _factor_names(factors: Sequence[Mapping[str, Any]]) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, factor in enumerate(factors):
        if factor["name"] in seen:
            yield ("factors", index, "name"), coded(
                "score.factor_twice", f"factor '{factor['name']}' is also the name of factor "
                f"{seen[factor['name']] + 1}; factor names must be unique", name=factor["name"],
                other=seen[factor["name"]] + 1)
        seen.setdefault(factor["name"], index)


def _bands(bands: Sequence[Mapping[str, Any]]) -> Iterator[Problem]:
    """Bands must cover every whole score from 0 to 100 exactly once."""
    for index, band in enumerate(bands):
        if band["min"] > band["max"]:
            yield ("bands", index), coded("score.band_reversed", f"band '{band['value']}' runs from {band['min']} "
                                          f"down to {band['max']}; min must not exceed max", band=band["value"],
                                          min=band["min"], max=band["max"])
            return
    ordered = sorted(enumerate(bands), key=lambda pair: pair[1]["min"])
    expected = 0
    for index, band in ordered:
        if band["min"] > expected:
            yield ("bands", index, "min"), coded(
                "score.band_gap", f"no band holds the scores {expected}-{band['min'] - 1}; band '{band['value']}' "
                f"starts at {band['min']}", low=expected, high=band["min"] - 1, band=band["value"], start=band["min"])
        elif band["min"] < expected:
            yield ("bands", index, "min"), coded(
                "score.band_overlap", f"band '{band['value']}' starts at {band['min']}, inside the band before it "
                f"(which ends at {expected - 1}); bands may not overlap", band=band["value"], start=band["min"],
                end=expected - 1)
        expected = max(expected, band["max"] + 1)
    if expected <= 100:
        last = ordered[-1][0]
        yield ("bands", last, "max"), coded("score.band_gap_end", f"no band holds the scores {expected}-100; the "
                                            "bands must reach 100", low=expected)
    values = [band["value"] for band in bands]
    for index, value in enumerate(values):
        if value in values[:index]:
            yield ("bands", index, "value"), coded("score.band_twice", f"band value '{value}' is used twice", band=value)


def _scale(parts: Parts, scale: Mapping[str, Any]) -> Iterator[Problem]:
    direction = scale.get("direction", "higher_is_better")
    if scale["type"] == "linear":
        if scale["low"] >= scale["high"]:
            yield parts, coded("score.low_high", f"low ({scale['low']}) must be below high ({scale['high']}); say "
                               "which end is better with direction", low=scale["low"], high=scale["high"])
        return
    key = STEP_KEY[direction]
    other = STEP_KEY["lower_is_better" if key == "min" else "higher_is_better"]
    bounds = []
    for index, step in enumerate(scale["steps"]):
        if key not in step or other in step:
            yield (*parts, "steps", index), coded(
                "score.step_key", f"with direction {direction} each step has \"{key}\" (the first step the value "
                f"reaches wins), not \"{other}\"", direction=direction, key=key, other=other)
            return
        bounds.append(step[key])
    in_order = sorted(bounds, reverse=key == "min")
    if bounds != in_order or len(set(bounds)) != len(bounds):
        word = "falling" if key == "min" else "rising"
        yield (*parts, "steps"), coded("score.steps_order", f"the steps' {key} values must be strictly {word} (they "
                                       f"are tried in order); got {bounds}", key=key, order=word, bounds=bounds)


def _aggregate_shape(parts: Parts, aggregate: Mapping[str, Any]) -> Iterator[Problem]:
    function = aggregate["function"]
    if function == "count" and "value" in aggregate:
        yield (*parts, "value"), "count counts the related records; it takes no value (filter them with where)"
    if function != "count" and "value" not in aggregate:
        yield parts, f"{function} needs a value: the field or expression it aggregates"
    if (function == "latest" or "within_days" in aggregate) and "date_field" not in aggregate:
        what = "latest" if function == "latest" else "within_days"
        yield parts, f"{what} needs a date_field: the date that orders or windows the related records"


def check_models(view: SetView) -> Iterator[ItemProblem]:
    """Every model against its object, the related objects of its aggregates and their fields."""
    sound = sound_objects(view)
    objects = {name: object_fields(obj) for name, obj in sound.items()}
    for name, document in view.sound("score_model").items():
        obj = sound.get(document["object"])
        choices = obj.sound.get(document["band_field"], {}).get("enum", ()) if obj is not None else ()
        for parts, message in check_model(document, objects, view.all_names("object"), choices):
            yield name, parts, message


def check_model(document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
                all_objects: Collection[str], band_choices: Sequence[str] = ()) -> list[Problem]:
    """Every problem of one model that passed its own checks; `band_choices` are the band
    field's enum values, if it has any."""
    unknown = unknown_object(document["object"], objects, all_objects)
    if unknown is not None:
        return unknown
    return list(_ModelCheck(document, objects, all_objects, band_choices).problems())


class _ModelCheck:
    def __init__(self, document: Mapping[str, Any], objects: Mapping[str, ObjectFields], all_objects: Collection[str],
                 band_choices: Sequence[str]):
        self.document = document
        self.band_choices = [str(c) for c in band_choices]
        self.objects = objects
        self.all_objects = all_objects
        self.name = document["object"]
        self.object = objects[document["object"]]
        self.lookups = {f: objects[target].fields for f, target in self.object.lookups.items() if target in objects}

    def problems(self) -> Iterator[Problem]:
        document = self.document
        yield from self.stored_field(("score_field",), document["score_field"], NUMBER_TYPES, "a number")
        yield from self.stored_field(("band_field",), document["band_field"], _BAND_TYPES, "a text or choice")
        if "change_field" in document:
            yield from self.stored_field(("change_field",), document["change_field"], NUMBER_TYPES, "a number")
        yield from self.band_values()
        aggregates = document.get("aggregates", {})
        for key, aggregate in aggregates.items():
            if key in self.object.fields:
                yield ("aggregates", key), f"'{key}' is already a field of {self.name}; give the aggregate another name"
            yield from self.aggregate(("aggregates", key), aggregate)
        names = {**self.object.fields, **{key: FieldType.NUMBER for key in aggregates}}
        for index, factor in enumerate(document["factors"]):
            for problem in check(factor["value"], names, self.lookups):
                yield ("factors", index, "value"), problem
        written = {document["score_field"], document["band_field"], document.get("change_field")}
        for index, field_name in enumerate(document.get("recompute_on_change", ())):
            if field_name not in self.object.fields:
                yield ("recompute_on_change", index), self.unknown(field_name)
            elif field_name in written:
                yield ("recompute_on_change", index), f"'{field_name}' is written by the model itself; " \
                                                      "watching it would rescore every record after each run"
        if "schedule" in document:
            yield from _schedule(document["schedule"])
        if "backtest" in document:
            yield from self.aggregate(("backtest",), document["backtest"], ("churned", "renewed"))

    def unknown(self, field_name: str, fields: Mapping[str, FieldType] | None = None, where: str | None = None) -> str:
        fields = self.object.fields if fields is None else fields
        return f"'{field_name}' is not a field of {where or self.name}{suggest(field_name, fields)}"

    def stored_field(self, parts: Parts, field_name: str, types: frozenset[FieldType], kind: str) -> Iterator[Problem]:
        field_type = self.object.fields.get(field_name)
        if field_type is None:
            yield parts, self.unknown(field_name)
        elif field_name in self.object.computed:
            yield parts, f"'{field_name}' is computed (a formula or roll-up); the model must write a stored field"
        elif field_type not in types and field_name not in self.object.untyped:
            yield parts, f"'{field_name}' is a {field_type.value} field; it must be {kind} field"

    def band_values(self) -> Iterator[Problem]:
        """Band values must be choices of an enum band field (checked where the field is known)."""
        choices = self.band_choices
        if not choices:
            return
        for index, band in enumerate(self.document["bands"]):
            if band["value"] not in choices:
                yield ("bands", index, "value"), f"'{band['value']}' is not a choice of {self.name}." \
                    f"{self.document['band_field']} (choices: {', '.join(choices)}){suggest(band['value'], choices)}"

    def aggregate(self, parts: Parts, aggregate: Mapping[str, Any],
                  expressions: Sequence[str] = ("value", "where")) -> Iterator[Problem]:
        """Related records of the scored object: an aggregate's, or the backtest's outcomes."""
        child_name = aggregate["object"]
        unknown = unknown_object(child_name, self.objects, self.all_objects)
        if unknown is not None:
            yield from (((*parts, "object"), message) for _, message in unknown)
            return
        child = self.objects[child_name]
        via = aggregate["via"]
        if via not in child.fields:
            yield (*parts, "via"), self.unknown(via, child.fields, child_name)
        elif child.lookups.get(via) != self.name:
            target = child.lookups.get(via)
            found = f"points to '{target}'" if target else "is not a lookup"
            yield (*parts, "via"), f"'{child_name}.{via}' {found}; via must be a lookup of {child_name} to {self.name}"
        child_lookups = {f: self.objects[t].fields for f, t in child.lookups.items() if t in self.objects}
        for key in expressions:
            if key in aggregate:
                for problem in check(aggregate[key], child.fields, child_lookups):
                    yield (*parts, key), problem
        date_field = aggregate.get("date_field")
        if date_field is not None:
            field_type = child.fields.get(date_field)
            if field_type is None:
                yield (*parts, "date_field"), self.unknown(date_field, child.fields, child_name)
            elif field_type not in DATE_TYPES:
                yield (*parts, "date_field"), f"'{date_field}' is a {field_type.value} field of {child_name}; " \
                                              "date_field must be a date or date-time"


def _schedule(schedule: Mapping[str, Any]) -> Iterator[Problem]:
    try:
        parse_cron(schedule["cron"])
    except CronError as error:
        yield ("schedule", "cron"), str(error)
    if "timezone" in schedule:
        try:
            ZoneInfo(schedule["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            yield ("schedule", "timezone"), f"'{schedule['timezone']}' is not a known time zone (e.g. Asia/Shanghai)"


KIND = Kind(
    name="score_model",
    folder="score_models",
    meta_validator=meta_validator("score_model"),
    check_name=partial(check_object_name, what="score model"),
    check_document=sound_model,
    check_set=check_models,
)

__all__ = ["KIND", "STEP_KEY", "TOTAL_WEIGHT", "check_model", "check_models"]
