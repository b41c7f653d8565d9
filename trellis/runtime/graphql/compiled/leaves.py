"""Leaf values as graphql-core writes them: each scalar's or enum's own `coerce_output_value`,
with a shortcut for the values it would return unchanged (a `str` for String and ID, an `int`
within 32 bits for Int, a `bool` for Boolean, a finite `float` for Float). Anything the type
refuses, or turns into null, is a `Fallback`: graphql-core then reports it its own way."""

from __future__ import annotations

import math
from typing import Any

from graphql import GraphQLEnumType, GraphQLLeafType, GraphQLScalarType

from trellis.runtime.graphql.compiled.plan import Coerce, Fallback

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def _slow(kind: GraphQLLeafType) -> Coerce:
    coerce_output = kind.coerce_output_value

    def coerce(value: Any) -> Any:
        try:
            out = coerce_output(value)
        except Exception as error:  # the type refuses the value: graphql-core reports a field error
            raise Fallback(f"{kind.name} cannot write {value!r}") from error
        if out is None:
            raise Fallback(f"{kind.name} wrote null")
        return out
    return coerce


def leaf_coercion(kind: GraphQLLeafType) -> Coerce:
    """How a value of `kind` is written to the response."""
    slow = _slow(kind)
    name = kind.name if isinstance(kind, GraphQLScalarType) else ""
    if name in ("String", "ID"):
        return lambda value: value if type(value) is str else slow(value)
    if name == "Int":
        return lambda value: value if type(value) is int and _INT_MIN <= value <= _INT_MAX else slow(value)
    if name == "Boolean":
        return lambda value: value if type(value) is bool else slow(value)
    if name == "Float":
        return lambda value: value if type(value) is float and math.isfinite(value) else slow(value)
    if isinstance(kind, GraphQLEnumType):
        same = frozenset(n for n, v in kind.values.items() if v.value == n)  # written as they are stored
        return lambda value: value if type(value) is str and value in same else slow(value)
    return slow
