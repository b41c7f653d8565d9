"""The renewals world of tests/runtime/automation/world.py, fresh for each test on each database."""

from __future__ import annotations

import pytest

from tests.runtime.automation.world import World
from trellis.platform.tenancy import Installation


@pytest.fixture
def world(installation: Installation) -> World:
    return World.create(installation)
