"""JSON Schema validation errors → one plain sentence per field, in the words of `USER`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata.wording import USER, sentence
from trellis.runtime.errors import FieldProblem


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
        yield FieldProblem(path, sentence(error, USER))
