"""JSON Schema validation errors → one plain sentence per field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from trellis.runtime.errors import FieldProblem

_FORMATS = {"email": "an email address", "uri": "a URL such as https://example.com", "date": "a date",
            "date-time": "a date-time"}


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 60 else text[:57] + "…"


def _sentence(error: ValidationError) -> str:
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "enum":
        return f"expected one of {', '.join(str(v) for v in expected if v is not None)}; got {_shown(value)}"
    if kind == "maxLength":
        return f"must be at most {expected} characters; this is {len(value)}"
    if kind == "minLength":
        return f"must be at least {expected} characters" if expected > 1 else "must not be empty"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"must be {'at least' if kind == 'minimum' else 'more than'} {expected}; got {value}"
    if kind in ("maximum", "exclusiveMaximum"):
        return f"must be {'at most' if kind == 'maximum' else 'less than'} {expected}; got {value}"
    if kind == "pattern":
        return f"{_shown(value)} does not match the pattern {expected}"
    if kind == "format":
        return f"expected {_FORMATS.get(expected, expected)}; got {_shown(value)}"
    if kind == "multipleOf":
        return f"must be a multiple of {expected}; got {value}"
    if kind == "uniqueItems":
        return "must not list the same choice twice"
    if kind == "type":
        return f"expected {expected}; got {_shown(value)}"
    return error.message


def field_problems(validator: Draft202012Validator, instance: Mapping[str, Any]) -> Iterator[FieldProblem]:
    """Every schema violation of one record, attributed to its field."""
    for error in validator.iter_errors(instance):
        if error.validator == "required" and not error.path:
            for name in error.validator_value:
                if name not in instance:
                    yield FieldProblem(name, "is required")
            continue
        if error.validator == "additionalProperties" and not error.path:
            continue  # unknown fields are reported earlier, with their names
        path = ".".join(str(p) for p in error.absolute_path) or "$"
        yield FieldProblem(path, _sentence(error))
