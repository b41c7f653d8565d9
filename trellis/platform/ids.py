"""Record and user ids: UUIDv7 in canonical text form, so ids sort by creation time.

Time-ordered ids keep primary-key indexes append-mostly (fast inserts) and make "newest first"
a cheap index scan. Python 3.11 has no uuid7, so it is built here per RFC 9562.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_sequence = 0


def new_id() -> str:
    """A UUIDv7: 48-bit Unix milliseconds, then a 12-bit counter (monotonic within a
    millisecond in this process), then 62 random bits."""
    global _last_ms, _sequence
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _sequence += 1
            if _sequence > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _sequence = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _sequence = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now_ms << 80) | (0x7 << 76) | (_sequence << 64) | (0b10 << 62) | rand
    return str(uuid.UUID(int=value))
