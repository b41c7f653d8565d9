"""Timing and reporting shared by every benchmark.

A figure is only meaningful next to a baseline doing the same work on the same machine in the
same run, so each measurement is a *pair*: the Trellis side and the baseline side, interleaved
(drift such as a WAL checkpoint or a warm cache hits both alike) and reduced to the best of N.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from types import TracebackType


class Stopwatch:
    """Times the one block a run wraps in `with watch:`; setup outside the block is not timed."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        gc.collect()  # garbage from the setup must not be collected on the clock
        self._start = perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if kind is None:
            self.seconds = perf_counter() - self._start


#: One repetition of one side: gets the repetition number and the stopwatch to time its work with.
TimedRun = Callable[[int, Stopwatch], None]


def time_once(run: TimedRun, repetition: int) -> float:
    watch = Stopwatch()
    run(repetition, watch)
    if watch.seconds is None:
        raise RuntimeError(f"{run!r} never entered its stopwatch")
    return watch.seconds


def compare(trellis: TimedRun, baseline: TimedRun, repeat: int) -> tuple[float, float]:
    """Best-of-N seconds of both sides, run alternately. The fastest run is the one least
    disturbed by the rest of the machine; the median would mix that noise into the ratio."""
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(repeat):
        ours.append(time_once(trellis, i))
        theirs.append(time_once(baseline, i))
    return min(ours), min(theirs)


@dataclass(frozen=True)
class Result:
    """One row of the report."""

    benchmark: str
    database: str
    trellis_s: float
    baseline_s: float
    notes: str = ""
    details: str = ""  # a block printed after the table (query plans, ...)

    @property
    def ratio(self) -> float:
        return self.trellis_s / self.baseline_s if self.baseline_s > 0 else float("inf")


HEADER = ("benchmark", "database", "trellis s", "baseline s", "ratio", "notes")


def _cells(result: Result) -> tuple[str, ...]:
    return (result.benchmark, result.database, f"{result.trellis_s:.4f}", f"{result.baseline_s:.4f}",
            f"{result.ratio:.2f}x", result.notes)


def format_table(results: Sequence[Result]) -> str:
    """An aligned text table; numbers right-aligned, the notes column left free-form."""
    rows = [HEADER, *(_cells(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    numeric = {2, 3, 4}

    def line(row: tuple[str, ...]) -> str:
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=False))]
        return "  ".join(cells + [row[-1]]).rstrip()

    rule = "  ".join("-" * w for w in widths) + "  -----"
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is; `quick()` is small enough for the test suite."""

    objects: int = 100
    fields: int = 30
    rows: int = 1_000_000
    accounts: int = 1_000
    repeat: int = 3  # best of N for the cheap cases
    rebuild_repeat: int = 2  # best of N for cases that copy every row
    cpu_repeat: int = 7  # best of N for pure-Python cases (cheap, and noisier)
    creates: int = 100_000  # records created through the bulk path
    batch: int = 10_000  # records per bulk call (the service's maximum)
    pages: int = 10  # pages fetched per timed run of a page benchmark

    @classmethod
    def quick(cls) -> Sizes:
        return cls(objects=10, fields=10, rows=10_000, accounts=100, repeat=2, rebuild_repeat=1, cpu_repeat=2,
                   creates=2_000, batch=1_000, pages=2)
