"""The function library, exactly as `trellis.metadata.expressions.FUNCTIONS` describes it.

Every implementation takes the `EvaluationContext` first, then the formula's arguments. A
function given a blank gives blank, except the ones made for blanks (`coalesce`, `is_blank`,
`if_`, `min`, `max`) and the yes/no tests (`contains`, `starts_with`: false).
"""

from __future__ import annotations

import builtins
import calendar
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import Any

from trellis.metadata.expressions import DATE_UNITS
from trellis.runtime.expressions.context import EvaluationContext
from trellis.runtime.expressions.operators import comparable
from trellis.runtime.expressions.values import (
    MAX_DIGITS,
    EvaluationError,
    checked_text,
    describe,
    is_number,
    to_decimal,
    truth,
)

Function = Callable[..., Any]


def _date(function: str, value: Any, ctx: EvaluationContext) -> date:
    if not isinstance(value, date):
        raise EvaluationError(f"{function} expects a date, got {describe(value)}")
    return ctx.local_date(value)


def _whole(function: str, value: Any, what: str) -> int:
    if is_number(value) and value == int(value):
        return int(value)
    raise EvaluationError(f"{function} expects a whole number of {what}, got {describe(value)}")


def _text(function: str, value: Any) -> str:
    if not isinstance(value, str):
        raise EvaluationError(f"{function} expects text, got {describe(value)}")
    return value


def _number(function: str, value: Any) -> int | float | Decimal:
    if not is_number(value):
        raise EvaluationError(f"{function} expects a number, got {describe(value)}")
    return value


def today(ctx: EvaluationContext) -> date:
    return ctx.today


def now(ctx: EvaluationContext) -> datetime:
    return ctx.local_now


def days_between(ctx: EvaluationContext, a: Any, b: Any) -> int | None:
    if a is None or b is None:
        return None
    return (_date("days_between", b, ctx) - _date("days_between", a, ctx)).days


def add_days(ctx: EvaluationContext, d: Any, n: Any) -> date | None:
    if d is None or n is None:
        return None
    start, days = _date("add_days", d, ctx), _whole("add_days", n, "days")
    try:
        return start + timedelta(days=days)
    except OverflowError:
        raise EvaluationError(f"add_days: {days} days after {start.isoformat()} is out of the calendar") from None


def add_months(ctx: EvaluationContext, d: Any, n: Any) -> date | None:
    """Month arithmetic that keeps the day within the target month: Jan 31 + 1 month = Feb 28/29."""
    if d is None or n is None:
        return None
    start, months = _date("add_months", d, ctx), _whole("add_months", n, "months")
    try:
        return months_later(start, months)
    except ValueError:
        raise EvaluationError(f"add_months: {months} months after {start.isoformat()} is out of the calendar") from None


def months_later(start: date, months: int) -> date:
    """Jan 31 + 1 month = Feb 28/29: the day kept within the target month (ValueError when the
    result leaves the calendar). Date-relative workflow rules count months the same way."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"{months} months after {start.isoformat()} is out of the calendar")
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def year(ctx: EvaluationContext, d: Any) -> int | None:
    return None if d is None else _date("year", d, ctx).year


def month(ctx: EvaluationContext, d: Any) -> int | None:
    return None if d is None else _date("month", d, ctx).month


def day(ctx: EvaluationContext, d: Any) -> int | None:
    return None if d is None else _date("day", d, ctx).day


def date_trunc(ctx: EvaluationContext, unit: Any, d: Any) -> date | None:
    if unit not in DATE_UNITS:
        raise EvaluationError(f"date_trunc unit must be one of {', '.join(DATE_UNITS)}; got {describe(unit)}")
    if d is None:
        return None
    value = _date("date_trunc", d, ctx)
    if unit == "day":
        return value
    if unit == "week":
        return value - timedelta(days=value.weekday())  # ISO weeks start on Monday
    if unit == "month":
        return value.replace(day=1)
    if unit == "quarter":
        return value.replace(month=(value.month - 1) // 3 * 3 + 1, day=1)
    return value.replace(month=1, day=1)


def coalesce(ctx: EvaluationContext, *values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def is_blank(ctx: EvaluationContext, x: Any) -> bool:
    return x is None or x == "" or (isinstance(x, (list, tuple)) and not x)


def if_(ctx: EvaluationContext, cond: Any, a: Any, b: Any) -> Any:
    return a if truth(cond, "the condition of if_") else b


def previous(ctx: EvaluationContext, value: Any) -> Any:
    """previous(field) is computed by the evaluator, which reads the field's value before the
    save (`evaluate.PREVIOUS`); called directly it has no earlier value to give."""
    return None


def round_(ctx: EvaluationContext, x: Any, ndigits: Any = 0) -> Any:
    """Half away from zero (ROUND_HALF_UP) for every kind of number, as people round money."""
    if x is None or ndigits is None:
        return None
    value, places = _number("round", x), _whole("round", ndigits, "decimal places")
    if abs(places) > MAX_DIGITS:
        raise EvaluationError(f"round: {places} decimal places is out of range; the limit is {MAX_DIGITS}")
    if isinstance(value, int) and places >= 0:
        return value
    rounded = to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if places < 0:
        rounded = rounded.quantize(Decimal(1))  # 2E+1 reads as 20
    if isinstance(value, int):
        return int(rounded)
    return float(rounded) if isinstance(value, float) else rounded


def _extreme(name: str, pick: Callable[..., Any], values: tuple[Any, ...]) -> Any:
    present = [v for v in values if v is not None]  # blanks are skipped, as in SQL
    if not present:
        return None
    for value in present:
        if isinstance(value, (list, tuple)):
            raise EvaluationError(f"{name} compares single values, got a list")
        comparable(present[0], value)
    return pick(present)


def min_(ctx: EvaluationContext, *values: Any) -> Any:
    return _extreme("min", builtins.min, values)


def max_(ctx: EvaluationContext, *values: Any) -> Any:
    return _extreme("max", builtins.max, values)


def abs_(ctx: EvaluationContext, x: Any) -> Any:
    return None if x is None else builtins.abs(_number("abs", x))


def len_(ctx: EvaluationContext, x: Any) -> int | None:
    if x is None:
        return None
    if not isinstance(x, (str, list, tuple)):
        raise EvaluationError(f"len expects text or a list, got {describe(x)}")
    return builtins.len(x)


def lower(ctx: EvaluationContext, s: Any) -> str | None:
    return None if s is None else checked_text(_text("lower", s).lower())


def upper(ctx: EvaluationContext, s: Any) -> str | None:
    return None if s is None else checked_text(_text("upper", s).upper())


def contains(ctx: EvaluationContext, haystack: Any, needle: Any) -> bool:
    if haystack is None or needle is None:
        return False
    if isinstance(haystack, list):
        return needle in haystack
    return _text("contains", needle) in _text("contains", haystack)


def starts_with(ctx: EvaluationContext, s: Any, prefix: Any) -> bool:
    if s is None or prefix is None:
        return False
    return _text("starts_with", s).startswith(_text("starts_with", prefix))


#: The library every evaluation shares (read-only), by the names formulas call.
LIBRARY: Mapping[str, Function] = MappingProxyType({
    "today": today,
    "now": now,
    "days_between": days_between,
    "add_days": add_days,
    "add_months": add_months,
    "year": year,
    "month": month,
    "day": day,
    "date_trunc": date_trunc,
    "coalesce": coalesce,
    "is_blank": is_blank,
    "if_": if_,
    "previous": previous,
    "round": round_,
    "min": min_,
    "max": max_,
    "abs": abs_,
    "len": len_,
    "lower": lower,
    "upper": upper,
    "contains": contains,
    "starts_with": starts_with,
})
