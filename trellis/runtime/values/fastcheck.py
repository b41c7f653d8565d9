"""A compiled yes/no pre-check of records against their object's JSON Schema.

jsonschema walks the schema for every record, which costs far more than the write itself in
bulk imports. Object schemas use a small, closed set of keywords (the object meta-schema
admits no others), so each field compiles to one predicate here. The contract is one-sided and
tested: a record this check accepts, the reusable jsonschema validator accepts too; when the
check says no, the jsonschema validator runs and explains why, so messages come from one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata.model import ObjectDef

Predicate = Callable[[Any], bool]
RecordCheck = Callable[[Mapping[str, Any]], bool]
_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
#: Keywords whose exact jsonschema semantics we do not re-implement: their objects always take
#: the full validator (multipleOf has float subtleties).
_DEFER = frozenset({"multipleOf"})
_TYPES: Mapping[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float, Decimal)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
}


def _field_predicate(schema: Mapping[str, Any]) -> Predicate | None:
    """All of one field's constraints as one function, or None if it uses a deferred keyword.
    One closure with plain `if`s: this runs once per field of every record written."""
    if _DEFER & set(schema):
        return None
    declared = schema["type"]
    kind = next(t for t in (declared if isinstance(declared, list) else [declared]) if t != "null")
    type_ok = _TYPES[kind]
    choices = frozenset(c for c in schema["enum"] if c is not None) if "enum" in schema else None
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    shortest, longest = schema.get("minLength"), schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    format_name = schema.get("format")
    items = schema.get("items")
    item_choices = frozenset(items.get("enum", ())) if isinstance(items, Mapping) else None
    unique = bool(schema.get("uniqueItems"))

    def predicate(v: Any) -> bool:
        if not type_ok(v):
            return False
        if choices is not None and v not in choices:
            return False
        if low is not None and v < low or high is not None and v > high:
            return False
        if above is not None and v <= above or below is not None and v >= below:
            return False
        if shortest is not None and len(v) < shortest or longest is not None and len(v) > longest:
            return False
        if pattern is not None and pattern.search(v) is None:
            return False
        if format_name is not None and not _FORMAT_CHECKER.conforms(v, format_name):
            return False
        if item_choices is not None and not all(isinstance(i, str) and i in item_choices for i in v):
            return False
        return not unique or len(set(v)) == len(v)

    return predicate


def compile_check(obj: ObjectDef) -> RecordCheck | None:
    """The pre-check of one object, or None when its schema needs the full validator anyway."""
    predicates: dict[str, Predicate] = {}
    for field in obj.fields.values():
        if field.computed:
            continue
        predicate = _field_predicate(field.schema)
        if predicate is None:
            return None
        predicates[field.name] = predicate
    required = tuple(obj.schema.get("required", ()))

    def check(instance: Mapping[str, Any]) -> bool:
        for name in required:
            if name not in instance:
                return False
        for name, value in instance.items():
            predicate = predicates.get(name)
            if predicate is None or not predicate(value):
                return False
        return True

    return check
