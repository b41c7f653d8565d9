"""Types as a test: mypy checks trellis/ with the configuration in pyproject.toml ([tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_nothing():
    # The cache (.mypy_cache in the repository root, as configured) makes a rerun take a second or two.
    # Only this test runs mypy, so pytest-xdist workers never share the cache at the same time.
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-color-output"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
