"""Read validated `object` documents into typed `ObjectDef`s.

Validation (trellis.metadata.validation) has already rejected anything malformed, so this module
only interprets: which `FieldType` a property is, which formulas are live, which indexes exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

from trellis.metadata.definitions import (
    DEFAULT_SCALE,
    FieldDef,
    FieldType,
    IndexDef,
    ObjectDef,
)
from trellis.metadata.expressions import VOLATILE_FUNCTIONS, analyse

MAX_IDENTIFIER = 63  # PostgreSQL's limit, the tighter of our two databases

_STRING_FORMATS = {
    "date": FieldType.DATE,
    "date-time": FieldType.DATETIME,
    "email": FieldType.EMAIL,
    "uri": FieldType.URL,
}
_STRING_KINDS = {
    "textarea": FieldType.TEXT,
    "email": FieldType.EMAIL,
    "phone": FieldType.PHONE,
    "url": FieldType.URL,
}
_NUMBER_KINDS = {"currency": FieldType.CURRENCY, "percent": FieldType.PERCENT}


def json_type(schema: Mapping[str, Any]) -> str | None:
    """The single JSON type of a property; `["string", "null"]` reads as "string"."""
    declared = schema.get("type")
    if isinstance(declared, list):
        concrete = [t for t in declared if t != "null"]
        return concrete[0] if len(concrete) == 1 else None
    return declared


def classify(schema: Mapping[str, Any]) -> FieldType | None:
    """The field type a property schema describes, or None when it is not one we store."""
    kind: str = schema.get("x-kind", "")  # no x-kind ("") leaves each JSON type's default
    declared = json_type(schema)
    if "x-ref" in schema:
        return FieldType.LOOKUP if declared == "string" else None
    if declared == "array":
        items = schema.get("items")
        if isinstance(items, Mapping) and json_type(items) == "string" and "enum" in items:
            return FieldType.MULTI_ENUM
        return None
    if declared == "string":
        if "enum" in schema:
            return FieldType.ENUM
        if schema.get("format") in _STRING_FORMATS:
            return _STRING_FORMATS[schema["format"]]
        return _STRING_KINDS.get(kind, FieldType.STRING)
    if declared == "number":
        return _NUMBER_KINDS.get(kind, FieldType.NUMBER)
    if declared == "integer":
        return FieldType.INTEGER
    if declared == "boolean":
        return FieldType.BOOLEAN
    return None


def label_of(value: Any) -> dict[str, str]:
    """`x-label` may be a plain string (any locale) or {locale: text}."""
    if isinstance(value, str):
        return {"*": value}
    return dict(value or {})


def index_name(prefix: str, object_name: str, fields: tuple[str, ...]) -> str:
    """A deterministic index name within PostgreSQL's identifier limit."""
    name = f"{prefix}_{object_name}__{'__'.join(fields)}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_IDENTIFIER - 9]}_{digest}"


def english_plural(name: str) -> str:
    """The default plural of an API name (`x-plural` overrides it): simple English rules."""
    head, _, last = name.rpartition("_")
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return f"{head}_{last}" if head else last


def compile_objects(documents: Mapping[str, Mapping[str, Any]],
                    implied_indexes: Mapping[str, Collection[str]] | None = None) -> dict[str, ObjectDef]:
    """Typed objects; `implied_indexes` names fields other items need indexed (see `scanned_fields`)."""
    implied = implied_indexes or {}
    return {name: compile_object(name, doc, implied.get(name, ())) for name, doc in documents.items()}


def scanned_fields(rule_documents: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """The date fields date-triggered workflow rules scan, by object: the scheduler searches them by
    range on every tick, so publishing indexes them (a step of the plan like any other) without the
    admin having to know to ask. Inactive rules count too, so switching one off drops nothing."""
    scanned: dict[str, set[str]] = {}
    for rule in rule_documents.values():
        trigger = rule.get("trigger", {})
        if trigger.get("type") == "date" and "object" in rule and "field" in trigger:
            scanned.setdefault(rule["object"], set()).add(trigger["field"])
    return scanned


def compile_object(name: str, document: Mapping[str, Any], implied_indexes: Collection[str] = ()) -> ObjectDef:
    properties: Mapping[str, Mapping[str, Any]] = document.get("properties", {})
    required = set(document.get("required", ()))
    live = live_formulas(properties)
    fields: dict[str, FieldDef] = {}
    indexes: list[IndexDef] = []
    for field_name, schema in properties.items():
        field_type = classify(schema)
        assert field_type is not None, f"{name}.{field_name} was not validated"
        choices = [c for c in schema.get("enum") or (schema.get("items") or {}).get("enum") or () if c is not None]
        scale = schema.get("x-scale", DEFAULT_SCALE.get(field_type)) if field_type.is_decimal else None
        fields[field_name] = FieldDef(
            name=field_name,
            type=field_type,
            schema=schema,
            required=field_name in required,
            label=label_of(schema.get("x-label")),
            ref=schema.get("x-ref"),
            reverse=schema.get("x-reverse"),
            choices=tuple(choices),
            formula=schema.get("x-formula"),
            live=field_name in live,
            rollup=schema.get("x-rollup"),
            index=bool(schema.get("x-index")),
            unique=bool(schema.get("x-unique")),
            track_history=bool(schema.get("x-track-history")),
            scale=scale,
        )
        if field_name in live:
            continue
        if schema.get("x-unique"):
            indexes.append(IndexDef(index_name("ux", name, (field_name,)), (field_name,), unique=True))
        elif schema.get("x-index") or field_type is FieldType.LOOKUP:
            indexes.append(IndexDef(index_name("ix", name, (field_name,)), (field_name,)))
    for group in document.get("x-index", ()):
        indexes.append(IndexDef(index_name("ix", name, tuple(group)), tuple(group)))
    for group in document.get("x-unique", ()):
        indexes.append(IndexDef(index_name("ux", name, tuple(group)), tuple(group), unique=True))
    leading = {index.fields[0] for index in indexes}  # an index whose first column is the field serves it
    for field_name in sorted(implied_indexes):
        if field_name in fields and fields[field_name].stored and field_name not in leading:
            indexes.append(IndexDef(index_name("ix", name, (field_name,)), (field_name,)))
    return ObjectDef(
        name=name,
        schema=document,
        fields=fields,
        label=label_of(document.get("x-label")),
        plural=document.get("x-plural") or english_plural(name),
        indexes=tuple(indexes),
    )


def live_formulas(properties: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Formula fields that read the clock, directly or through another live formula."""
    uses: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # field -> (names, functions) it reads
    for field_name, schema in properties.items():
        if "x-formula" in schema:
            analysis = analyse(schema["x-formula"])
            uses[field_name] = (analysis.names, analysis.functions)
    live = {f for f, (_, functions) in uses.items() if functions & VOLATILE_FUNCTIONS}
    changed = True
    while changed:
        changed = False
        for f, (names, _) in uses.items():
            if f not in live and names & live:
                live.add(f)
                changed = True
    return live
