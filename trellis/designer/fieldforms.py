"""A field of an object as the designer's form shows it, and back: form values ↔ JSON Schema property.

Admins pick a kind (text, currency, picklist, formula…) and never see JSON; this module is the
one translation between the two, pure (no I/O), so it is tested on its own. Keys of an existing
property that the form does not control (maxLength, x-track-history…) are kept when the kind
stays the same. Problems the form itself can see (a default that is not a number) come back as
(form field, catalogue key, values); everything else is left to the metadata validation, whose
errors `form_field_of` pins to the form field they concern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from trellis.metadata.definitions import FieldType
from trellis.metadata.objects import classify, label_of

KINDS = ("text", "number", "integer", "currency", "percent", "date", "datetime", "boolean", "picklist",
         "multiselect", "lookup", "formula", "rollup")
RESULT_KINDS = ("number", "integer", "currency", "percent", "text", "date", "boolean")
ROLLUP_FUNCTIONS = ("count", "sum", "min", "max", "avg")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_BY_TYPE = {FieldType.STRING: "text", FieldType.TEXT: "text", FieldType.EMAIL: "text", FieldType.PHONE: "text",
            FieldType.URL: "text", FieldType.INTEGER: "integer", FieldType.NUMBER: "number",
            FieldType.CURRENCY: "currency", FieldType.PERCENT: "percent", FieldType.BOOLEAN: "boolean",
            FieldType.DATE: "date", FieldType.DATETIME: "datetime", FieldType.ENUM: "picklist",
            FieldType.MULTI_ENUM: "multiselect", FieldType.LOOKUP: "lookup"}
#: the keys each plain kind sets; everything the form controls is in CONTROLLED
_PLAIN: dict[str, dict[str, Any]] = {
    "text": {"type": "string"}, "number": {"type": "number"}, "integer": {"type": "integer"},
    "currency": {"type": "number", "x-kind": "currency"}, "percent": {"type": "number", "x-kind": "percent"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
    "boolean": {"type": "boolean"},
}
CONTROLLED = ("type", "format", "enum", "items", "uniqueItems", "x-kind", "x-ref", "x-reverse", "x-formula",
              "readOnly", "x-rollup", "x-label", "x-unique", "x-index", "default")
#: which form field a metadata error under `$.properties.<field>.<key>` concerns
_KEY_TO_FORM = {"x-formula": "formula", "enum": "choices", "items": "choices", "x-ref": "ref",
                "x-reverse": "reverse", "default": "default", "x-label": "label_en", "type": "kind",
                "x-kind": "kind", "format": "kind", "x-unique": "unique", "x-index": "index"}

Problem = tuple[str, str, dict[str, Any]]  # (form field, catalogue key, values)


def label_text(labels: Any, language: str, fallback: str) -> str:
    """An `x-label` (a string or {locale: text}) in the page's language, else any, else `fallback`."""
    found = label_of(labels or {})
    return found.get(language) or found.get("*") or found.get("en") or fallback


def kind_of(schema: Mapping[str, Any]) -> str:
    if "x-formula" in schema:
        return "formula"
    if "x-rollup" in schema:
        return "rollup"
    found = classify(schema)
    return _BY_TYPE.get(found, "text") if found is not None else "text"


def values_from_schema(name: str, schema: Mapping[str, Any], required: bool) -> dict[str, str]:
    """What the form shows for an existing property."""
    labels = label_of(schema.get("x-label", {}))
    kind = kind_of(schema)
    rollup = schema.get("x-rollup") or {}
    choices = schema.get("enum") or (schema.get("items") or {}).get("enum") or []
    default = schema.get("default")
    return {
        "name": name, "kind": kind, "label_en": labels.get("en", labels.get("*", "")),
        "label_zh": labels.get("zh-CN", ""), "required": "on" if required else "",
        "unique": "on" if schema.get("x-unique") else "", "index": "on" if schema.get("x-index") else "",
        "default": "" if default is None else (str(default).lower() if isinstance(default, bool) else str(default)),
        "choices": "\n".join(c for c in choices if c is not None), "ref": schema.get("x-ref", ""),
        "reverse": schema.get("x-reverse", ""), "formula": schema.get("x-formula", ""),
        "result": _result_kind(schema) if kind in ("formula", "rollup") else "number",
        "rollup_object": rollup.get("object", ""), "rollup_via": rollup.get("via", ""),
        "rollup_function": rollup.get("function", "count"), "rollup_field": rollup.get("field", ""),
    }


def _result_kind(schema: Mapping[str, Any]) -> str:
    plain = {k: v for k, v in schema.items() if k in ("type", "format", "x-kind")}
    found = classify(plain)
    kind = _BY_TYPE.get(found, "number") if found is not None else "number"
    return kind if kind in RESULT_KINDS else "number"


def schema_from_values(values: Mapping[str, str], existing: Mapping[str, Any] | None) -> tuple[dict[str, Any],
                                                                                              list[Problem]]:
    """The property the form describes, and the problems the form itself can see."""
    kind = values.get("kind", "text")
    problems: list[Problem] = []
    if kind not in KINDS:
        return {}, [("kind", "form.required_value", {})]
    keep = existing is not None and kind_of(existing) == kind
    schema: dict[str, Any] = {k: v for k, v in (existing or {}).items() if keep and k not in CONTROLLED}
    choices = [c.strip() for c in values.get("choices", "").splitlines() if c.strip()]
    if kind in _PLAIN:
        schema.update(_PLAIN[kind])
    elif kind == "picklist":
        schema.update({"type": "string", "enum": choices})
        if not choices:
            problems.append(("choices", "form.required_value", {}))
    elif kind == "multiselect":
        schema.update({"type": "array", "items": {"type": "string", "enum": choices}, "uniqueItems": True})
        if not choices:
            problems.append(("choices", "form.required_value", {}))
    elif kind == "lookup":
        schema.update({"type": "string", "x-ref": values.get("ref", "")})
        if values.get("reverse"):
            schema["x-reverse"] = values["reverse"]
        if not values.get("ref"):
            problems.append(("ref", "form.required_value", {}))
    elif kind == "formula":
        schema.update({**_PLAIN.get(values.get("result", "number"), _PLAIN["number"]), "readOnly": True,
                       "x-formula": values.get("formula", "")})
        if not values.get("formula"):
            problems.append(("formula", "form.required_value", {}))
    elif kind == "rollup":
        schema.update({**_PLAIN.get(values.get("result", "number"), _PLAIN["number"]), "readOnly": True})
        rollup = {"object": values.get("rollup_object", ""), "via": values.get("rollup_via", ""),
                  "function": values.get("rollup_function", "count")}
        if values.get("rollup_field"):
            rollup["field"] = values["rollup_field"]
        schema["x-rollup"] = rollup
        for part in ("rollup_object", "rollup_via"):
            if not values.get(part):
                problems.append((part, "form.required_value", {}))
    labels = {lang: values.get(key, "") for lang, key in (("en", "label_en"), ("zh-CN", "label_zh"))
              if values.get(key)}
    if labels:
        schema["x-label"] = labels
    if values.get("unique"):
        schema["x-unique"] = True
    if values.get("index"):
        schema["x-index"] = True
    default, problem = _default(kind, values.get("default", ""), choices)
    if problem:
        problems.append(("default", problem, {}))
    elif default is not None:
        schema["default"] = default
    return schema, problems


def _default(kind: str, text: str, choices: list[str]) -> tuple[Any, str | None]:
    """The default value typed for the kind, or the catalogue key of why it is not one."""
    if not text or kind in ("formula", "rollup", "lookup"):
        return None, None
    if kind in ("number", "currency", "percent", "integer"):
        try:
            number = float(text) if kind != "integer" else int(text)
        except ValueError:
            return None, "form.bad_number"
        return (int(number) if isinstance(number, float) and number.is_integer() else number), None
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            return None, "form.bad_boolean"
        return text.lower() == "true", None
    if kind == "picklist" and text not in choices:
        return None, "form.not_a_choice"
    if kind == "multiselect":
        picked = [c.strip() for c in text.split(",") if c.strip()]
        return (picked, None) if all(c in choices for c in picked) else (None, "form.not_a_choice")
    return text, None


def form_field_of(path: str, field: str) -> str | None:
    """The form field a metadata error at JSON `path` concerns, when it is about `field`; None
    when it is about something else."""
    prefix = f"$.properties.{field}"
    if path == prefix:
        return "kind"
    if path.startswith(prefix + "."):
        key = path[len(prefix) + 1:].split(".")[0].split("[")[0]
        if key == "x-rollup":
            return "rollup_object"
        return _KEY_TO_FORM.get(key, "kind")
    return None
