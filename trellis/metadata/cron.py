"""Cron schedules for workflow rules: the five-field syntax, checked at save time, and its firings.

A rule may fire on a cron schedule read in the tenant's time zone. This module refuses, with a
sentence naming the field, every schedule that is malformed or can never fire, and computes
firings for the scheduler. It is pure (no clock, no database, no third-party cron library);
time zones come from zoneinfo.

Choices worth knowing:

- Day of month and day of week follow Vixie cron. A field is *restricted* unless its text starts
  with `*` (so `*/2` counts as unrestricted). When both are restricted a day fires if EITHER
  matches (`0 0 1 * MON`: the 1st and every Monday); otherwise it must match both.
- Firings are searched in local wall time, skipping whole months, days and hours that cannot
  match, so a yearly schedule costs a handful of steps, not a minute-by-minute walk.
- A wall time that does not exist (the spring-forward gap, e.g. 02:30 in New York) fires once, at
  the instant the clock jumps (03:00 local); several gap times, and the first time after the gap,
  collapse into that one firing. A wall time that happens twice (the autumn overlap) fires once,
  at its first occurrence (fold=0).
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, UTC, datetime, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

MAX_LENGTH = 200  # characters of source
#: How far ahead a search goes before giving up. Feb 29 on a given weekday (`0 0 29 2 *` with
#: `*/7` as the day of week) recurs at gaps of up to 40 years, so the guard must exceed that.
MAX_SEARCH_YEARS = 50

#: Macros and the five fields each stands for.
MACROS: Mapping[str, str] = MappingProxyType({
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
})

_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTH_LABELS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December")
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February of a leap year
_DIGITS = re.compile(r"[0-9]+")
_ONE_MINUTE = timedelta(minutes=1)


class CronError(ValueError):
    """A schedule that may not be saved, or a search that found no firing."""


@dataclass(frozen=True)
class _Field:
    name: str  # as it appears in messages
    low: int
    high: int  # highest value accepted on input (7 for the day of week: Sunday again)
    names: Mapping[str, int]
    star_high: int  # what `*` covers; differs from `high` only for the day of week
    names_label: str = ""

    def expected(self) -> str:
        label = f" or {self.names_label}" if self.names_label else ""
        return f"a number {self.low}-{self.high}{label}"


_MINUTE = _Field("minute", 0, 59, {}, 59)
_HOUR = _Field("hour", 0, 23, {}, 23)
_DAY = _Field("day of month", 1, 31, {}, 31)
_MONTH = _Field("month", 1, 12, {n: i for i, n in enumerate(_MONTH_NAMES, 1)}, 12, "a month name JAN-DEC")
_WEEKDAY = _Field("day of week", 0, 7, {n: i for i, n in enumerate(_WEEKDAY_NAMES)}, 6, "a day name SUN-SAT")
_FIELDS = (_MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule: the values each field allows. Build it with `parse_cron`."""

    source: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0=Sunday .. 6=Saturday
    day_restricted: bool
    weekday_restricted: bool
    # Sorted copies for bisecting; derived, so left out of equality and repr.
    _minutes: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hours: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _days: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _months: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("minutes", "hours", "days", "months"):
            object.__setattr__(self, f"_{name}", tuple(sorted(getattr(self, name))))

    def matches(self, local: datetime) -> bool:
        """True when the naive local wall time `local` is a firing (seconds are ignored)."""
        if local.tzinfo is not None:
            raise ValueError("matches() takes a naive local wall time; "
                             "convert with .astimezone(tz).replace(tzinfo=None)")
        return (local.minute in self.minutes and local.hour in self.hours and local.month in self.months
                and self._day_matches(local.day, local.isoweekday() % 7))

    def next_after(self, instant: datetime, tz: ZoneInfo) -> datetime:
        """The first firing strictly after the aware `instant`, read in `tz`, as an aware UTC time."""
        return next(self._firings(instant, tz))

    def between(self, start: datetime, end: datetime, tz: ZoneInfo, limit: int = 10_000) -> list[datetime]:
        """The firings in (start, end] in order, as aware UTC times: at most the first `limit`.

        Hitting `limit` is not an error: the caller asks again from the last firing returned.
        An empty or reversed interval gives an empty list.
        """
        _require_aware(end, "end")
        end = end.astimezone(UTC)
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, not {limit}")
        found: list[datetime] = []
        if limit == 0:
            return found
        for firing in self._firings(start, tz):
            if firing > end:
                break
            found.append(firing)
            if len(found) == limit:
                break
        return found

    def _day_matches(self, day: int, weekday: int) -> bool:
        in_days = day in self.days
        in_weekdays = weekday in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _firings(self, after: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """Successive firings strictly after `after`, each later than the one before."""
        _require_aware(after, "instant")
        wall = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        last = after.astimezone(UTC)  # `==` across zones is always False for an ambiguous time (PEP 495)
        while True:
            wall = self._next_wall(_add_minute(wall))
            firing = _instant(wall, tz)
            # Wall order and instant order agree except that a gap's times share one instant, and
            # that the first pass of an overlap lies before an `after` taken in its second pass.
            if firing > last:
                yield firing
                last = firing

    def _next_wall(self, start: datetime) -> datetime:
        """The first naive wall time at or after `start` (whole minutes) that matches."""
        year, month, day, hour, minute = start.year, start.month, start.day, start.hour, start.minute
        horizon = min(start.year + MAX_SEARCH_YEARS, MAXYEAR)
        while True:
            if year > horizon:
                raise CronError(f"the schedule '{self.source}' never fires: nothing matches in the "
                                f"{MAX_SEARCH_YEARS} years after {start:%Y-%m-%d %H:%M}")
            if month not in self.months:
                year, month = self._next_month(year, month)
                day, hour, minute = 1, 0, 0
                continue
            found = self._next_day(year, month, day)
            if found is None:
                year, month = self._next_month(year, month)
                day, hour, minute = 1, 0, 0
                continue
            if found != day:
                day, hour, minute = found, 0, 0
            at = bisect_left(self._hours, hour)
            if at == len(self._hours):
                day, hour, minute = day + 1, 0, 0
                continue
            if self._hours[at] != hour:
                hour, minute = self._hours[at], 0
            at = bisect_left(self._minutes, minute)
            if at == len(self._minutes):
                hour, minute = hour + 1, 0
                continue
            return datetime(year, month, day, hour, self._minutes[at])

    def _next_month(self, year: int, month: int) -> tuple[int, int]:
        at = bisect_right(self._months, month)
        if at < len(self._months):
            return year, self._months[at]
        return year + 1, self._months[0]

    def _next_day(self, year: int, month: int, day: int) -> int | None:
        """The first day from `day` on in this month that matches, or None."""
        first_weekday, length = calendar.monthrange(year, month)  # Monday=0
        if self.day_restricted and self.weekday_restricted:
            candidates: range | tuple[int, ...] = range(day, length + 1)  # either may match: look at each
        else:
            candidates = self._days[bisect_left(self._days, day):]  # both must match: only listed days
        for candidate in candidates:
            if candidate > length:
                return None
            if self._day_matches(candidate, (first_weekday + candidate) % 7):
                return candidate
        return None


def parse_cron(source: str) -> CronSchedule:
    """The schedule written in `source`, refused with a CronError unless it is valid and can fire."""
    if not isinstance(source, str):
        raise CronError("a cron schedule must be text")
    if len(source) > MAX_LENGTH:
        raise CronError(f"the schedule is {len(source)} characters long; the limit is {MAX_LENGTH}")
    text = source.strip()
    if not text:
        raise CronError("the schedule is empty; expected five fields "
                        "(minute hour day-of-month month day-of-week) or a macro such as @daily")
    expanded = text
    if text.startswith("@"):
        expanded = MACROS.get(text.lower(), "")
        if not expanded:
            raise CronError(f"unknown macro '{text}'; expected one of {', '.join(MACROS)}")
    parts = expanded.split()
    if len(parts) != 5:
        given = f"{len(parts)} was given" if len(parts) == 1 else f"{len(parts)} were given"
        hint = "; seconds and years are not supported" if len(parts) in (6, 7) else ""
        raise CronError(f"a cron schedule has 5 fields (minute hour day-of-month month day-of-week); {given}{hint}")
    fields = zip(parts, _FIELDS, strict=True)
    minutes, hours, days, months, weekdays = (_parse_field(part, spec) for part, spec in fields)
    schedule = CronSchedule(
        source=text,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(value % 7 for value in weekdays),
        day_restricted=not parts[2].startswith("*"),
        weekday_restricted=not parts[4].startswith("*"),
    )
    _check_can_fire(schedule)
    return schedule


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.name}: empty item in '{text}'; expected a number, range or step "
                            "on each side of every comma")
        values.update(_parse_item(item, spec))
    return frozenset(values)


def _parse_item(item: str, spec: _Field) -> range:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not _DIGITS.fullmatch(step_text):
            raise CronError(f"{spec.name}: step '{step_text}' in '{item}' is not a number; "
                            "expected */n or a-b/n with n a whole number")
        step = int(step_text)
        if step == 0:
            raise CronError(f"{spec.name}: step 0 in '{item}' is not allowed; expected a step of 1 or more")
    if base == "*":
        return range(spec.low, spec.star_high + 1, step)
    if "-" in base:
        first, _, last = base.partition("-")
        if not first or not last or "-" in last:
            raise CronError(f"{spec.name}: '{base}' is not a valid range; expected a-b with both ends given")
        low, high = _value(first, spec), _value(last, spec, range_end=True)
        if low > high:
            raise CronError(f"{spec.name}: range '{base}' is reversed; expected the lower value first "
                            "(ranges do not wrap around: use a list such as 22-23,0-2)")
        return range(low, high + 1, step)
    if slash:
        raise CronError(f"{spec.name}: '{item}' has a step but no range; expected */n or a-b/n, "
                        f"such as */{step} or {base}-{spec.high}/{step}")
    value = _value(base, spec)
    return range(value, value + 1)


def _value(text: str, spec: _Field, range_end: bool = False) -> int:
    if _DIGITS.fullmatch(text):
        value = int(text)
    elif text.upper() in spec.names:
        value = spec.names[text.upper()]
        if range_end and spec is _WEEKDAY and value == 0:
            value = 7  # FRI-SUN: Sunday closing a range is the 7 that ends the week
    else:
        raise CronError(f"{spec.name}: '{text}' is not {spec.expected()}")
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.name}: {text} is out of range {spec.low}-{spec.high}")
    return value


def _check_can_fire(schedule: CronSchedule) -> None:
    """Refuse day-of-month and month sets with no date in common, such as Feb 31.

    When both day fields are restricted any day of the week still fires, and a date that exists
    falls on every weekday over the years (Feb 29 included, within 40), so only the (day, month)
    pairs need checking.
    """
    if schedule.day_restricted and schedule.weekday_restricted:
        return
    if any(day <= _LONGEST_MONTH[month - 1] for day in schedule.days for month in schedule.months):
        return
    days = sorted(schedule.days)
    months = ", ".join(_MONTH_LABELS[month - 1] for month in sorted(schedule.months))
    subject = f"day {days[0]} never occurs" if len(days) == 1 else f"days {_listing(days)} never occur"
    raise CronError(f"day of month: the schedule can never fire, because {subject} in {months}; "
                    "expected a day that exists in at least one chosen month")


def _listing(values: list[int]) -> str:
    return ", ".join(str(value) for value in values)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a time-zone aware datetime, not a naive one")


def _add_minute(wall: datetime) -> datetime:
    try:
        return wall + _ONE_MINUTE
    except OverflowError:
        raise CronError(f"no firing can be found after {wall:%Y-%m-%d %H:%M}: it is the end of the calendar") from None


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the naive wall time `wall` fires in `tz` (see the module docstring)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # in an overlap, the first occurrence
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clock jumps over the missing wall time `wall`: the first local time after it.

    Read with the offset before and after the jump, `wall` names two instants that bracket the
    jump; a binary search over whole seconds finds the first whose local time is past `wall`.
    """
    readings = (wall.replace(tzinfo=tz, fold=0).timestamp(), wall.replace(tzinfo=tz, fold=1).timestamp())
    low, high = int(min(readings)), int(max(readings))
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)

