"""Operators of the formula language, money-safe and with readable errors.

Numbers: whole op whole stays whole, except `/` (7 / 2 is exactly 3.5, a Decimal); anything op a
Decimal is a Decimal (a float is converted through its text, never its binary value); a float
op a whole number is a float. `//` and `%` floor, for every kind of number. Blank in, blank out:
arithmetic with a blank gives blank. Comparisons always give yes/no: blank equals only blank,
and an ordering comparison with a blank is false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import Any, TypeGuard

from trellis.runtime.expressions.values import (
    MAX_EXPONENT,
    MAX_POWER_BITS,
    MAX_TEXT,
    EvaluationError,
    describe,
    finite,
    is_number,
    kind,
    noun,
    to_decimal,
    truth,
)

Binary = Callable[[Any, Any], Any]


def _refuse(verb: str, a: Any, b: Any) -> EvaluationError:
    return EvaluationError(f"cannot {verb} {noun(a)} and {noun(b)}")


def _numeric(op: Binary, a: Any, b: Any) -> Any:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return op(to_decimal(a), to_decimal(b))
    if isinstance(a, float) or isinstance(b, float):
        return finite(op(float(a), float(b)))
    return op(a, b)


def _is_whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return _numeric(operator.add, a, b)
    if isinstance(a, str) and isinstance(b, str):
        if len(a) + len(b) > MAX_TEXT:
            raise EvaluationError(f"the text would be {len(a) + len(b)} characters long; the limit is {MAX_TEXT}")
        return a + b
    if kind(a) in ("date", "date-time") and is_number(b):
        raise EvaluationError(f"cannot add a number to {noun(a)}; use add_days(d, n)")
    raise _refuse("add", a, b)


def subtract(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return _numeric(operator.sub, a, b)
    if kind(a) in ("date", "date-time") and kind(b) in ("date", "date-time"):
        raise EvaluationError(f"cannot subtract {noun(b)} from {noun(a)}; use days_between(a, b)")
    if kind(a) in ("date", "date-time") and is_number(b):
        raise EvaluationError(f"cannot subtract a number from {noun(a)}; use add_days(d, -n)")
    raise EvaluationError(f"cannot subtract {noun(b)} from {noun(a)}")


def _repeat(text: str, times: int) -> str:
    if len(text) * max(times, 0) > MAX_TEXT:
        raise EvaluationError(f"the text would be {len(text) * times} characters long; the limit is {MAX_TEXT}")
    return text * times


def multiply(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return _numeric(operator.mul, a, b)
    if isinstance(a, str) and _is_whole(b):
        return _repeat(a, b)
    if isinstance(b, str) and _is_whole(a):
        return _repeat(b, a)
    raise _refuse("multiply", a, b)


def _divisor(verb: str, a: Any, b: Any) -> None:
    if not (is_number(a) and is_number(b)):
        raise _refuse(verb, a, b)
    if b == 0:
        raise EvaluationError("division by zero")


def divide(a: Any, b: Any) -> Any:
    """`/`: exact for whole numbers and Decimals (a Decimal result), a float if a float is involved."""
    if a is None or b is None:
        return None
    _divisor("divide", a, b)
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, Decimal) or isinstance(b, Decimal)):
            return finite(a / b)
    return to_decimal(a) / to_decimal(b)


def floor_divide(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    _divisor("divide", a, b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (to_decimal(a) / to_decimal(b)).to_integral_value(rounding=ROUND_FLOOR)
    return _numeric(operator.floordiv, a, b)


def modulo(a: Any, b: Any) -> Any:
    """`%` with the sign of the divisor (floored), for Decimals too (Python's Decimal truncates)."""
    if a is None or b is None:
        return None
    _divisor("take the remainder of", a, b)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        x, y = to_decimal(a), to_decimal(b)
        return x - y * (x / y).to_integral_value(rounding=ROUND_FLOOR)
    return _numeric(operator.mod, a, b)


def power(a: Any, b: Any) -> Any:
    """`**`, bounded: the exponent at most MAX_EXPONENT, a whole result at most MAX_POWER_BITS."""
    if a is None or b is None:
        return None
    if not (is_number(a) and is_number(b)):
        raise _refuse("raise", a, b)
    if b > MAX_EXPONENT or b < -MAX_EXPONENT:  # abs(b) of int | float | Decimal is `object` to mypy
        shown = b if len(str(b)) <= 20 else f"(a number of {len(str(abs(b)))} digits)"
        raise EvaluationError(f"the exponent {shown} is too large; the limit is {MAX_EXPONENT}")
    if _is_whole(a) and _is_whole(b):
        if b < 0:
            if a == 0:
                raise EvaluationError("division by zero")
            return Decimal(a) ** b
        if abs(a).bit_length() * b > MAX_POWER_BITS:
            raise EvaluationError(f"{a} ** {b} is too large to compute")
        return a**b
    if isinstance(a, Decimal) or isinstance(b, Decimal):  # else a float is involved
        x, y = to_decimal(a), to_decimal(b)
        if x < 0 and y != y.to_integral_value():
            raise EvaluationError("cannot raise a negative number to a fractional power")
        if x == 0 and y < 0:
            raise EvaluationError("division by zero")
        return x**y
    if a < 0 and float(b) != int(b):
        raise EvaluationError("cannot raise a negative number to a fractional power")
    if a == 0 and b < 0:
        raise EvaluationError("division by zero")
    return finite(float(a) ** float(b))


def negate(a: Any) -> Any:
    if a is None:
        return None
    if not is_number(a):
        raise EvaluationError(f"cannot negate {describe(a)}")
    return -a


def plus(a: Any) -> Any:
    if a is None:
        return None
    if not is_number(a):
        raise EvaluationError(f"cannot put + before {describe(a)}")
    return a


def logical_not(a: Any) -> bool:
    return not truth(a, "the value after 'not'")


def comparable(a: Any, b: Any, verb: str = "compare") -> None:
    """Raise unless a and b are of one kind (numbers count as one kind, whatever their type)."""
    if kind(a) != kind(b):
        raise EvaluationError(f"cannot {verb} {noun(a)} with {noun(b)}")


def equal(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    comparable(a, b)
    return bool(a == b)


def not_equal(a: Any, b: Any) -> bool:
    return not equal(a, b)


def _ordering(op: Binary) -> Binary:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        comparable(a, b)
        if isinstance(a, (list, tuple)):
            raise EvaluationError("lists cannot be compared with < or >")
        return bool(op(a, b))
    compare.__name__ = op.__name__
    return compare


def member(item: Any, container: Any) -> bool:
    """`item in container`: a literal list, a multi-select value or text (substring)."""
    if container is None:
        return False
    if isinstance(container, tuple):  # a literal list: [a, b, c]
        return any(equal(item, element) for element in container)
    if isinstance(container, list):  # a multi-select value
        return item is not None and item in container
    if isinstance(container, str):
        if item is None:
            return False
        if not isinstance(item, str):
            raise EvaluationError(f"cannot look for {describe(item)} in text")
        return item in container
    raise EvaluationError(f"'in' needs a list or text on its right, got {describe(container)}")


def not_member(item: Any, container: Any) -> bool:
    return not member(item, container)


#: The operator table every evaluation shares (read-only).
OPERATORS: Mapping[type, Callable[..., Any]] = MappingProxyType({
    ast.Add: add,
    ast.Sub: subtract,
    ast.Mult: multiply,
    ast.Div: divide,
    ast.FloorDiv: floor_divide,
    ast.Mod: modulo,
    ast.Pow: power,
    ast.USub: negate,
    ast.UAdd: plus,
    ast.Not: logical_not,
    ast.Eq: equal,
    ast.NotEq: not_equal,
    ast.Lt: _ordering(operator.lt),
    ast.LtE: _ordering(operator.le),
    ast.Gt: _ordering(operator.gt),
    ast.GtE: _ordering(operator.ge),
    ast.In: member,
    ast.NotIn: not_member,
})
