"""The `metric` kind: a KPI as an aggregate of records, or the ratio of two, over a period.

A metric (`metrics/<name>.json`) names its object, the date field its period filters on, a
numerator and an optional denominator (each a function, the value it aggregates and a
condition, in the formula language), the groupings it allows and its definition in words. The
runtime (`trellis.runtime.metrics`) computes it through the query compiler with the asker's
permissions; here everything it names is checked, so a metric that publishes is one that runs.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from functools import partial
from typing import Any

from trellis.metadata.definitions import DATE_TYPES, NUMBER_TYPES, FieldType
from trellis.metadata.errors import Parts, coded
from trellis.metadata.expressions import ExpressionError, analyse, check
from trellis.metadata.kind import ItemProblem, Kind, Problem, SetView, sound_document
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import check_object_name
from trellis.metadata.object_checks import sound_objects
from trellis.metadata.suggestions import closest, suggest
from trellis.metadata.workflow_rules import ObjectFields, object_fields, unknown_object

PARTS = ("numerator", "denominator")
_SUMMABLE = frozenset({"sum", "avg"})


def check_metrics(view: SetView) -> Iterator[ItemProblem]:
    """Every metric against its object and that object's fields and lookups."""
    objects = {name: object_fields(obj) for name, obj in sound_objects(view).items()}
    for name, document in view.sound("metric").items():
        for parts, message in check_metric(document, objects, view.all_names("object")):
            yield name, parts, message


def check_metric(document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
                 all_objects: Collection[str]) -> list[Problem]:
    """Every problem of one metric whose document passed its meta-schema."""
    unknown = unknown_object(document["object"], objects, all_objects)
    if unknown is not None:
        return unknown
    obj = objects[document["object"]]
    lookups = {f: objects[t].fields for f, t in obj.lookups.items() if t in objects}
    problems: list[Problem] = []
    period = document.get("period_field")
    if period is not None:
        field_type = obj.fields.get(period)
        if field_type is None:
            problems.append((("period_field",), _unknown(period, obj.fields, document["object"])))
        elif field_type not in DATE_TYPES:
            problems.append((("period_field",), coded(
                "metric.period_not_date", f"'{period}' is a {field_type.value} field; a period filters on a date",
                name=period, type=field_type.value)))
    for key in PARTS:
        if key in document:
            problems.extend(_aggregate((key,), document[key], obj.fields, lookups))
    for index, path in enumerate(document.get("group_by", ())):
        problems.extend((("group_by", index), p) for p in check(path, obj.fields, lookups))
    return problems


def _aggregate(parts: Parts, aggregate: Mapping[str, Any], fields: Mapping[str, FieldType],
               lookups: Mapping[str, Mapping[str, FieldType]]) -> Iterator[Problem]:
    function = aggregate["function"]
    value = aggregate.get("value")
    if function == "count":
        if value is not None:
            yield (*parts, "value"), coded("metric.count_value",
                                           "count counts the records; it takes no value (filter them with where)")
    elif value is None:
        yield parts, coded("metric.needs_value", f"{function} needs a value: the field or expression it aggregates",
                           function=function)
    else:
        problems = check(value, fields, lookups)
        yield from (((*parts, "value"), p) for p in problems)
        if not problems:
            yield from _numeric((*parts, "value"), function, value, fields)
    if "where" in aggregate:
        yield from (((*parts, "where"), p) for p in check(aggregate["where"], fields, lookups))


def _numeric(parts: Parts, function: str, value: str, fields: Mapping[str, FieldType]) -> Iterator[Problem]:
    """A sum or average of a plain field needs a number field (an expression is judged at run time)."""
    try:
        tree = analyse(value).tree.value
    except ExpressionError:  # reported by check()
        return
    if function in _SUMMABLE and isinstance(tree, ast.Name):
        field_type = fields[tree.id]
        if field_type not in NUMBER_TYPES:
            yield parts, coded("metric.needs_number", f"{function} needs a number; '{tree.id}' is a "
                               f"{field_type.value} field", function=function, name=tree.id, type=field_type.value)


def _unknown(name: str, fields: Mapping[str, FieldType], where: str) -> str:
    close = closest(name, fields)
    return coded("metric.not_a_field_close" if close else "metric.not_a_field",
                 f"'{name}' is not a field of {where}{suggest(name, fields)}", name=name, object=where, close=close or "")


KIND = Kind(
    name="metric",
    folder="metrics",
    meta_validator=meta_validator("metric"),
    check_name=partial(check_object_name, what="metric"),
    check_document=sound_document,
    check_set=check_metrics,
)

__all__ = ["KIND", "PARTS", "check_metric", "check_metrics"]
