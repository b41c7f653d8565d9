"""Files only their owner may read: the data folder, SQLite databases, key and token files.

A tenant's database holds its customers' records and password hashes; on a shared machine the
usual 0644/0755 would hand them to every local user. Folders are created 0700 and files 0600 —
from the start (`os.open` with the mode, not a chmod after the fact, so there is no moment when
another user could open them) — and files found with wider modes are narrowed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by its owner only; an existing folder is left
    as it is (it may be shared on purpose)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists and only its owner may read or write it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & ~PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, which only its owner may read (created so from the start)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE)
        handle.write(text)
