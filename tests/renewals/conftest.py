"""The renewals app in a fresh tenant, on both databases."""

from __future__ import annotations

import pytest

from tests.renewals.world import Renewals
from trellis.platform.tenancy import Installation


@pytest.fixture
def renewals(installation: Installation) -> Renewals:
    return Renewals.create(installation)
