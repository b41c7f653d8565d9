"""Progress of a long CLI job on stderr: a bar redrawn in place on a terminal, a plain line every
few seconds otherwise, so a log of a million-row import neither floods nor goes silent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30
PLAIN_EVERY = 5.0  # seconds between lines when stderr is no terminal


class ProgressBar:
    """Call it with (done, total) as work advances; `close()` ends the line on a terminal."""

    def __init__(self, stream: TextIO, label: str, *, every: float = PLAIN_EVERY,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.label = label
        self.every = every
        self.clock = clock
        self.interactive = stream.isatty()
        self.started = self._last = clock()
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.interactive:
            percent = self.percent(done, total)
            bar = "#" * (percent * BAR_WIDTH // 100)
            self.stream.write(f"\r{self.label} [{bar:<{BAR_WIDTH}}] {self.counts(done, total, now)}")
            self._drawn = True
        elif done >= total or now - self._last >= self.every:
            self.stream.write(f"{self.label}: {self.counts(done, total, now)}\n")
            self._last = now
        self.stream.flush()

    @staticmethod
    def percent(done: int, total: int) -> int:
        return 100 if total <= 0 else min(100, done * 100 // total)

    def counts(self, done: int, total: int, now: float) -> str:
        rate = done / max(now - self.started, 1e-6)
        return f"{done:,}/{total:,} rows ({self.percent(done, total)}%), {rate:,.0f} rows/s"

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
