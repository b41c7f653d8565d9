"""The renewals app in a fresh tenant, on both databases."""

from __future__ import annotations

import pytest

from tests.cli.conftest import cli  # noqa: F401  (the `trellis` command, in-process)
from tests.renewals.world import Renewals
from trellis.platform.tenancy import Installation


@pytest.fixture
def renewals(installation: Installation) -> Renewals:
    return Renewals.create(installation)
