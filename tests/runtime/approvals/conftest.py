"""The approvals world of tests/runtime/approvals/world.py, fresh for each test on each database."""

from __future__ import annotations

import pytest

from tests.runtime.approvals.world import ApprovalWorld
from trellis.platform.tenancy import Installation


@pytest.fixture
def world(installation: Installation) -> ApprovalWorld:
    return ApprovalWorld.create(installation)
