"""The one clock: every service that stamps or schedules takes a `Clock` and defaults to `utc_now`.

Tests and the scheduler pass their own (a fixed or advancing instant); nothing reads the system
time behind a caller's back, so "now" is the same for everything one call touches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]  # returns an aware UTC instant


def utc_now() -> datetime:
    return datetime.now(UTC)
