"""The periods a metric is asked for, as half-open date ranges [start, end) in the tenant's zone.

Accepted: `2026` (a year), `2026-Q3`, `2026-11`, `2026-01-01..2026-03-31` (both days included),
`this_month`, `this_quarter`, `this_year`, `last_month`, `last_quarter`, `last_year`,
`next_30_days` / `last_90_days` (any N from 1 to 3660, today included), and `all`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from trellis.runtime.errors import FieldProblem, InvalidInput

_N_DAYS = re.compile(r"^(next|last)_(\d{1,4})_days$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RELATIVE = ("this", "last")
_UNITS = ("month", "quarter", "year")
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    text: str
    start: date | None  # None: unbounded (the period "all")
    end: date | None  # exclusive


def parse_period(text: str, today: date) -> Period:
    """The date range `text` names, read on `today`; InvalidInput naming `period` otherwise."""
    text = text.strip()
    if text == "all":
        return Period(text, None, None)
    found = _N_DAYS.match(text)
    if found and 1 <= int(found[2]) <= MAX_DAYS:
        days = int(found[2])
        if found[1] == "next":
            return Period(text, today, today + timedelta(days=days + 1))
        return Period(text, today - timedelta(days=days - 1), today + timedelta(days=1))
    for word in _RELATIVE:
        for unit in _UNITS:
            if text == f"{word}_{unit}":
                start = _start_of(unit, today)
                if word == "last":
                    start = _start_of(unit, start - timedelta(days=1))
                return Period(text, start, _next(unit, start))
    try:
        if (found := _YEAR.match(text)):
            start = date(int(found[1]), 1, 1)
            return Period(text, start, _next("year", start))
        if (found := _QUARTER.match(text)):
            start = date(int(found[1]), 3 * int(found[2]) - 2, 1)
            return Period(text, start, _next("quarter", start))
        if (found := _MONTH.match(text)):
            start = date(int(found[1]), int(found[2]), 1)
            return Period(text, start, _next("month", start))
        if ".." in text:
            first, last = (date.fromisoformat(part) for part in text.split("..", 1))
            if last < first:
                raise ValueError("the range ends before it starts")
            return Period(text, first, last + timedelta(days=1))
    except ValueError as error:
        raise _refused(text, str(error)) from None
    raise _refused(text, "not a period")


def _refused(text: str, why: str) -> InvalidInput:
    return InvalidInput("invalid period", [FieldProblem("period", f"'{text}': {why}; expected e.g. 2026-Q3, 2026-11, "
                                                                  "2026, this_quarter, last_year, next_30_days, "
                                                                  "2026-01-01..2026-03-31 or all")])


def _start_of(unit: str, day: date) -> date:
    if unit == "year":
        return date(day.year, 1, 1)
    if unit == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def _next(unit: str, start: date) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
