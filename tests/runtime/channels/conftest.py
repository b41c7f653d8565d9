"""Fixtures of the channel tests: a scriptable HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.runtime.channels.receivers import HttpReceiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running
