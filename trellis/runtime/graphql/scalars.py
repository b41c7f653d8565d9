"""The custom scalars: `Date`, `DateTime` and `Decimal`, all ISO / decimal strings on the wire,
and `BigInt`, for integers GraphQL's 32-bit `Int` cannot carry.

Money never passes through a binary float: `Decimal` is serialised as a string ("1234.50") and
parsed from a string, or from a number literal's exact text. Date-times go out in UTC with a
`Z`; a date-time sent without a zone is read in the tenant's zone by the records service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NewType, TypeVar

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

T = TypeVar("T")


class ScalarInputError(ValueError):
    """A value the scalar cannot read; graphql-core reports it on the argument or variable."""


def _date_out(value: Any) -> str:
    if isinstance(value, dt.datetime):
        raise ScalarInputError(f"a date-time ({value}) is not a Date")
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)).isoformat()


def _date_in(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ScalarInputError(f"Date: expected text such as 2026-03-31, got {value!r}")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ScalarInputError(f"Date: expected YYYY-MM-DD, got {value!r}") from None


def _datetime_out(value: dt.datetime | str) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _datetime_in(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise ScalarInputError(f"DateTime: expected text such as 2026-03-31T09:30:00+08:00, got {value!r}")
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ScalarInputError(f"DateTime: expected YYYY-MM-DDTHH:MM[:SS][+08:00|Z], got {value!r}") from None


def _decimal_out(value: Any) -> str:
    return str(value if isinstance(value, Decimal) else Decimal(str(value)))


def _decimal_in(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ScalarInputError(f"Decimal: expected a number as text such as \"1234.50\", got {value!r}")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ScalarInputError(f"Decimal: expected a number as text such as \"1234.50\", got {value!r}") from None
    if not number.is_finite():
        raise ScalarInputError(f"Decimal: expected a finite number, got {value!r}")
    return number


#: The literal nodes a scalar reads, each holding its source text in `.value`.
_Literal = StringValueNode | IntValueNode | FloatValueNode


def _literal(parse: Callable[[str], T], kinds: tuple[type[_Literal], ...]) -> Callable[[ValueNode, Any], T]:
    def read(node: ValueNode, _variables: Any = None) -> T:
        if not isinstance(node, kinds):
            raise ScalarInputError("expected " + " or ".join(k.__name__.removesuffix("ValueNode").lower()
                                                             for k in kinds))
        return parse(node.value)
    return read


#: Integer fields whose bounds do not fit 32 bits, and sums of integers. A JSON number on the
#: wire, exact (JavaScript clients lose precision above 2^53: read those as text); input is a
#: number or its digits as text.
INT32 = (-(2**31), 2**31 - 1)


def _bigint_out(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScalarInputError(f"BigInt: expected a whole number, got {value!r}")
    return value


def _bigint_in(value: Any) -> int:
    if isinstance(value, bool):
        raise ScalarInputError(f"BigInt: expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ScalarInputError(f"BigInt: expected a whole number (or its digits as text), got {value!r}")


#: The Python type generated annotations use for BigInt (mapped to its scalar in SCALAR_OVERRIDES).
BigInt = NewType("BigInt", int)
BIGINT: ScalarDefinition = strawberry.scalar(
    name="BigInt", description="A whole number beyond 32 bits: 9007199254740993. Sent as a JSON number; "
                                       "input as a number or as text.",
    serialize=_bigint_out, parse_value=_bigint_in,
    parse_literal=_literal(_bigint_in, (IntValueNode, StringValueNode)))

DATE: ScalarDefinition = strawberry.scalar(
    name="Date", description="A calendar date, ISO 8601: 2026-03-31.",
    serialize=_date_out, parse_value=_date_in, parse_literal=_literal(_date_in, (StringValueNode,)))
DATETIME: ScalarDefinition = strawberry.scalar(
    name="DateTime", description="An instant, ISO 8601; sent back in UTC: 2026-03-31T01:30:00Z. "
                                 "Without a zone, input is read in the tenant's time zone.",
    serialize=_datetime_out, parse_value=_datetime_in, parse_literal=_literal(_datetime_in, (StringValueNode,)))
DECIMAL: ScalarDefinition = strawberry.scalar(
    name="Decimal", description="An exact decimal number as a string, for money and percentages: \"1234.50\".",
    serialize=_decimal_out, parse_value=_decimal_in,
    parse_literal=_literal(_decimal_in, (StringValueNode, IntValueNode, FloatValueNode)))

#: Python types used in generated annotations -> the scalar they stand for.
SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {dt.date: DATE, dt.datetime: DATETIME, Decimal: DECIMAL,
                                                    BigInt: BIGINT}
