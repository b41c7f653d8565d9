"""The scoring world of tests/runtime/scores/world.py, fresh for each test on each database."""

from __future__ import annotations

import pytest

from tests.runtime.scores.world import ScoreWorld
from trellis.platform.tenancy import Installation


@pytest.fixture
def world(installation: Installation) -> ScoreWorld:
    return ScoreWorld.create(installation)
