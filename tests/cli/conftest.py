"""Fixtures of the platform tests: the `trellis` command, run in-process."""

from __future__ import annotations

import pytest

from tests.helpers import Cli
from trellis.platform.settings import Settings


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(settings, capsys)
