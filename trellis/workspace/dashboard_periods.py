"""The dashboard's periods: a month, a quarter or a year, stepped back and forth.

A `Span` is named by the same text the metrics runtime reads (`2026-11`, `2026-Q3`, `2026`,
see `trellis.runtime.metrics.periods`), so a span's text is passed to the metrics service as
it is; the dashboard only adds the stepping (previous, next, the last N for a trend) and the
switch between units that a period picker needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from trellis.runtime.errors import FieldProblem, InvalidInput

UNITS = ("month", "quarter", "year")
_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
_FORMS = {"year": re.compile(r"^(\d{4})$"), "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
          "month": re.compile(r"^(\d{4})-(\d{2})$")}
FIRST_YEAR, LAST_YEAR = 1900, 9998  # the next year must exist too


@dataclass(frozen=True)
class Span:
    """One month (index 1–12), quarter (1–4) or year (index 1) of a year."""

    unit: str
    year: int
    index: int = 1

    @property
    def text(self) -> str:
        if self.unit == "year":
            return f"{self.year}"
        if self.unit == "quarter":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    @property
    def start(self) -> date:
        months_in = 12 // _PER_YEAR[self.unit]
        return date(self.year, (self.index - 1) * months_in + 1, 1)

    def shift(self, steps: int) -> Span:
        per = _PER_YEAR[self.unit]
        position = self.year * per + self.index - 1 + steps
        return Span(self.unit, position // per, position % per + 1)

    def last(self, count: int) -> list[Span]:
        """The `count` spans ending with this one, oldest first (a trend's x axis)."""
        return [self.shift(-back) for back in range(count - 1, -1, -1)]

    def as_unit(self, unit: str) -> Span:
        """The span of `unit` that holds this one's first day (the picker's unit switch)."""
        return span_containing(unit, self.start)


def span_containing(unit: str, day: date) -> Span:
    if unit == "year":
        return Span(unit, day.year)
    if unit == "quarter":
        return Span(unit, day.year, (day.month - 1) // 3 + 1)
    return Span(unit, day.year, day.month)


def read_span(text: str | None, today: date) -> Span:
    """The span `text` names; this quarter when there is no text; InvalidInput naming `period`
    (what was expected, with examples) for anything else."""
    text = (text or "").strip()
    if not text:
        return span_containing("quarter", today)
    for unit, form in _FORMS.items():
        found = form.match(text)
        if found is None:
            continue
        year, index = int(found[1]), int(found[2]) if unit != "year" else 1
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise _refused(text, f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
        if unit == "month" and not 1 <= index <= 12:
            raise _refused(text, "the month must be from 01 to 12")
        return Span(unit, year, index)
    raise _refused(text, "not a month, quarter or year")


def _refused(text: str, why: str) -> InvalidInput:
    shown = text if len(text) <= 40 else text[:40] + "…"
    return InvalidInput("invalid period", [FieldProblem("period", f"'{shown}': {why}; expected a month (2026-11), "
                                                                  "a quarter (2026-Q3) or a year (2026)")])
