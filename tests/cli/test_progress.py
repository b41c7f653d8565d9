"""The progress line of long CLI jobs: redrawn on a terminal, a plain line now and then otherwise."""

from __future__ import annotations

import io

from trellis.cli.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    stream, clock = Terminal(), Clock()
    progress = ProgressBar(stream, "importing", clock=clock)
    clock.now += 2
    progress(1_000, 4_000)
    clock.now += 2
    progress(4_000, 4_000)
    progress.close()
    assert stream.getvalue() == (
        "\rimporting [#######                       ] 1,000/4,000 rows (25%), 500 rows/s"
        "\rimporting [##############################] 4,000/4,000 rows (100%), 1,000 rows/s\n")


def test_elsewhere_a_plain_line_every_few_seconds_and_at_the_end():
    stream, clock = io.StringIO(), Clock()
    progress = ProgressBar(stream, "importing", every=5, clock=clock)
    for done in range(1_000, 10_001, 1_000):
        clock.now += 1
        progress(done, 10_000)
    progress.close()
    assert stream.getvalue().splitlines() == [
        "importing: 5,000/10,000 rows (50%), 1,000 rows/s",
        "importing: 10,000/10,000 rows (100%), 1,000 rows/s",
    ]
