"""Dates in SQL: a date-time's calendar date in the tenant's zone, and date arithmetic.

PostgreSQL knows time zones (`timezone(zone, ts)`). SQLite does not, and stores date-times as
UTC text; there the offset is a CASE over the zone's UTC-offset changes between 1900 and 2100,
computed from the same tz database Python uses. A zone with daylight saving changes its offset
twice a year, which would make that CASE huge: such zones are refused on SQLite (China,
Japan, Singapore and UTC have few changes and are exact).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Date, DateTime, Integer, String, case, cast, extract, func, literal
from sqlalchemy.sql.elements import ColumnElement

from trellis.runtime.expressions.sql_values import DATE, DATETIME, NULL, Refused, Sql, Target

FIRST, LAST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
MAX_OFFSET_CHANGES = 100  # more than this (daylight saving) and SQLite cannot convert in SQL
_STEP = timedelta(days=7)  # no zone keeps an offset for less than a week
_STORED = "%Y-%m-%d %H:%M:%S"  # how SQLAlchemy stores UTC date-times on SQLite (plus .ffffff)


def _offset(zone: ZoneInfo, instant: datetime) -> int:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@lru_cache(maxsize=64)
def offset_changes(key: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    """The zone's UTC offset at FIRST, then (UTC instant as stored, new offset) at each change.

    A pure function of the tz database, memoised per zone name (computing it takes ~20 ms)."""
    zone = ZoneInfo(key)
    first = _offset(zone, FIRST)
    changes: list[tuple[str, int]] = []
    current, at = first, FIRST
    while at < LAST:
        step = min(at + _STEP, LAST)
        if _offset(zone, step) != current:
            low, high = at, step  # offset(low) == current != offset(high): find the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            high = high.replace(microsecond=0)
            current = _offset(zone, high)
            changes.append((high.strftime(_STORED), current))
        at = step
    return first, tuple(changes)


def _modifier(seconds: int) -> str:
    return f"{seconds:+d} seconds"


def local_date(target: Target, value: Sql, function: str) -> Sql:
    """A date as is; a date-time as its calendar date in the tenant's zone; else refused."""
    if value.kind in (DATE, NULL):
        return value
    if value.kind != DATETIME:
        raise Refused(f"uses {function} on {value.noun} (it expects a date)")
    zone = target.ctx.timezone
    if not target.sqlite:
        return Sql(cast(func.timezone(literal(zone.key, String()), value.expr), Date()), DATE)
    first, changes = offset_changes(zone.key)
    if len(changes) > MAX_OFFSET_CHANGES:
        raise Refused(f"uses {function} on a date-time in the time zone {zone.key} (on SQLite, only zones "
                      "without daylight saving can be converted)")
    stored = value.expr
    modifier: ColumnElement[Any] = literal(_modifier(first), String())
    if changes:
        whens = [(stored < literal(boundary, String()), _modifier(offset))
                 for (boundary, _), offset in zip(changes, [first] + [o for _, o in changes[:-1]], strict=True)]
        modifier = case(*whens, else_=literal(_modifier(changes[-1][1]), String()))
    return Sql(func.date(stored, modifier), DATE)


def days_between(target: Target, a: Sql, b: Sql) -> ColumnElement[Any]:
    if target.sqlite:
        return cast(func.julianday(b.expr) - func.julianday(a.expr), BigInteger())
    return cast(b.expr - a.expr, BigInteger())


def add_days(target: Target, d: Sql, n: ColumnElement[Any]) -> ColumnElement[Any]:
    if target.sqlite:
        return func.date(d.expr, cast(n, String()).concat(" days"))
    return d.expr + cast(n, Integer())


def add_months(target: Target, d: Sql, n: ColumnElement[Any]) -> ColumnElement[Any]:
    """Month arithmetic kept within the target month (Jan 31 + 1 month = Feb 28/29). PostgreSQL's
    interval arithmetic clamps; SQLite's `+N months` overflows, so the day is clamped by hand."""
    if not target.sqlite:
        return cast(d.expr + func.make_interval(0, cast(n, Integer())), Date())
    first = func.date(d.expr, "start of month", cast(n, String()).concat(" months"))
    last_day = cast(func.strftime("%d", first, "+1 month", "-1 day"), Integer())
    this_day = cast(func.strftime("%d", d.expr), Integer())
    day = func.min(this_day, last_day) - literal(1, Integer())
    return func.date(first, cast(day, String()).concat(" days"))


def part(target: Target, d: Sql, unit: str) -> ColumnElement[Any]:
    """year / month / day of a date, as a whole number."""
    if target.sqlite:
        return cast(func.strftime({"year": "%Y", "month": "%m", "day": "%d"}[unit], d.expr), BigInteger())
    return cast(extract(unit, d.expr), BigInteger())


def truncate(target: Target, d: Sql, unit: str) -> ColumnElement[Any]:
    """The first day of the unit holding d; weeks start on Monday (ISO)."""
    if not target.sqlite:
        return cast(func.date_trunc(unit, cast(d.expr, DateTime())), Date())
    if unit == "day":
        return func.date(d.expr)
    if unit == "week":
        return func.date(d.expr, "-6 days", "weekday 1")
    if unit == "month":
        return func.date(d.expr, "start of month")
    if unit == "year":
        return func.date(d.expr, "start of year")
    back = (cast(func.strftime("%m", d.expr), Integer()) - literal(1, Integer())) % literal(3, Integer())
    return func.date(d.expr, "start of month", literal("-", String()).concat(cast(back, String())).concat(" months"))
