"""The clock and the time zone a batch of evaluations shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from trellis.platform.clock import utc_now


@dataclass(frozen=True)
class EvaluationContext:
    """One per write or read batch: `today()` and `now()` stay the same within it, and dates are
    read in the tenant's time zone."""

    timezone: ZoneInfo
    now: datetime  # aware

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"naive datetime {self.now!r}: give it a time zone")

    @classmethod
    def current(cls, timezone: ZoneInfo | str) -> EvaluationContext:
        """A context reading the clock now."""
        zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        return cls(zone, utc_now())

    @cached_property
    def local_now(self) -> datetime:
        """`now()`: the instant, shown in the tenant's zone."""
        return self.now.astimezone(self.timezone)

    @cached_property
    def today(self) -> date:
        """`today()`: the calendar date in the tenant's zone."""
        return self.local_now.date()

    def local_date(self, value: date) -> date:
        """A date as is; a date-time as the calendar date it falls on in the tenant's zone."""
        if isinstance(value, datetime):
            return value.astimezone(self.timezone).date()
        return value
