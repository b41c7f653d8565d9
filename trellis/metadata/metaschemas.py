"""The meta-schema of each kind (JSON Schema 2020-12, `meta_schemas/<kind>.schema.json`), loaded once.

A kind module builds its validator at import, so each document is checked by a validator that
already exists: building one per document, or resolving `$ref`s on every use, would dominate the
time a large set takes to validate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator


def meta_schema(kind: str) -> dict[str, Any]:
    """The meta-schema of `kind` as written, checked against JSON Schema 2020-12 itself."""
    text = resources.files("trellis.metadata").joinpath(f"meta_schemas/{kind}.schema.json").read_text("utf-8")
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise TypeError(f"meta_schemas/{kind}.schema.json must hold a JSON object, not {type(schema).__name__}")
    Draft202012Validator.check_schema(schema)
    return schema


def meta_validator(kind: str, *, borrowing: str | None = None) -> Draft202012Validator:
    """A validator of `kind`'s meta-schema with its local `$ref`s inlined; build it once and reuse it.

    `borrowing` names another kind whose `$defs` this one may use as its own (an approval
    process's outcome actions are a workflow rule's actions), so the shape is written once."""
    schema = meta_schema(kind)
    defs = {**meta_schema(borrowing).get("$defs", {}), **schema.get("$defs", {})} if borrowing else schema.get("$defs", {})
    inlined = _inline_refs(schema, defs)
    return Draft202012Validator(inlined, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """The schema with each local `{"$ref": "#/$defs/x"}` replaced by x itself.

    Resolving references on every use took half of the validation time. Meta-schemas are
    small and not recursive, so inlining them once is exact; a `$ref` with sibling keywords
    becomes `allOf`, which is what 2020-12 means by it.
    """
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {key: _inline_refs(value, defs) for key, value in node.items() if key not in ("$ref", "$defs")}
    if "$ref" not in node:
        return inlined
    target = _inline_refs(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    return {**inlined, "allOf": [target]} if inlined else target
