"""`trellis worker` stops on SIGTERM/SIGINT even when the signal lands while the main thread is
inside `stop.wait()` holding the event's lock (a CI run once hung there for good)."""

from __future__ import annotations

import signal
import threading

from trellis.cli.automation import stopping


def test_the_handler_sets_the_event_even_while_the_main_thread_holds_its_lock():
    stop = threading.Event()
    handle = stopping(stop)
    with stop._cond:  # where `stop.wait()` is when the signal arrives at the worst moment
        handle(signal.SIGTERM, None)  # setting the event here directly would never return
        assert not stop.is_set()
    assert stop.wait(timeout=5)


def test_each_signal_sets_the_event_once_handled():
    stop = threading.Event()
    stopping(stop)(signal.SIGINT, None)
    assert stop.wait(timeout=5)
