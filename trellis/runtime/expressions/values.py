"""The values formulas compute with, the words a user sees for them, and the limits.

Formulas see plain data only: text, whole numbers, floats (`number` fields), Decimals (money),
yes/no, dates, aware date-times, lists (multi-select) and blank (None). Every error a user may
meet is an `EvaluationError` whose message is one readable sentence.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any, TypeGuard

from trellis.metadata.expressions import MAX_EXPONENT

MAX_TEXT = 10_000  # characters of a text a formula builds (concatenation, repetition, upper/lower)
MAX_POWER_BITS = 3_400  # about 1,000 decimal digits: the largest whole-number power computed
MAX_DIGITS = 28  # decimal places accepted by round()

__all__ = ["MAX_EXPONENT", "MAX_TEXT", "MAX_POWER_BITS", "MAX_DIGITS", "DECIMAL_CONTEXT", "EvaluationError"]

#: Decimal arithmetic of formulas: 28 significant digits, and every exceptional case an error
#: instead of a NaN or an infinity. Used through `localcontext`, so no thread shares its flags.
DECIMAL_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999_999, Emax=999_999,
                          traps=[InvalidOperation, DivisionByZero, Overflow])

PLAIN_TYPES = frozenset({str, int, float, bool, type(None), Decimal, date, datetime})


class EvaluationError(ValueError):
    """A formula could not be computed for this record; `message` is a sentence for the user."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def is_number(value: Any) -> TypeGuard[int | float | Decimal]:
    """int, float or Decimal, but not yes/no (bool is an int to Python, not to a user)."""
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def kind(value: Any) -> str:
    """The user's name of a value's type; values of one kind can be compared with each other."""
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "yes/no"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "date-time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


_ARTICLES = {"number": "a number", "date": "a date", "date-time": "a date-time", "list": "a list"}


def noun(value: Any) -> str:
    """'text', 'a number', 'a date', ...: the kind as it reads inside a sentence."""
    name = kind(value)
    return _ARTICLES.get(name, name)


def describe(value: Any) -> str:
    """The kind and a short rendering of the value: text 'abc', a number (1.5), a date (2026-01-31)."""
    name = noun(value)
    if value is None or isinstance(value, (list, tuple)):
        return name
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:29] + "…"
        return f"text '{shown}'"
    if isinstance(value, bool):
        return f"yes/no ({str(value).lower()})"
    if isinstance(value, (date, datetime, int, float, Decimal)):
        return f"{name} ({value.isoformat() if isinstance(value, date) else value})"
    return name


def truth(value: Any, what: str = "a condition") -> bool:
    """A condition's value: yes/no, and blank counts as no. Anything else is refused, so that
    a formula means the same in Python and in SQL."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise EvaluationError(f"{what} must be yes/no, got {describe(value)}")


def to_decimal(value: int | float | Decimal) -> Decimal:
    """A number as a Decimal; floats through their shortest text, never their binary value."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise EvaluationError("the result is too large to compute")
    return value


def checked_text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise EvaluationError(f"the text would be {len(text)} characters long; the limit is {MAX_TEXT}")
    return text
