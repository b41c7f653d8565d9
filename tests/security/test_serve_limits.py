"""The same limits on a real `trellis serve` (uvicorn on loopback): a large chunked body with a
bogus token, or over the limit with a valid one, is answered while the client is still sending,
and the server closes the connection instead of reading the rest."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bench.graphql import Server
from tests.runtime.graphql.conftest import TENANT
from tests.security.conftest import Tokens
from trellis.platform.tenancy import Installation

pytestmark = pytest.mark.slow

CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024 // CHUNK


class LazyBody:
    def __init__(self) -> None:
        self.asked = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(FIFTY_MB):
            self.asked += 1
            yield b" " * CHUNK


def test_large_bodies_are_refused_while_they_are_still_being_sent(installation: Installation,
                                                                  tokens: Tokens) -> None:
    settings = installation.settings
    installation.dispose()
    with Server(settings) as server:
        for token, status in (("trl_bogus", 401), (tokens.admin, 413)):
            body = LazyBody()
            response = httpx.post(f"{server.url}/t/{TENANT}/graphql", content=body, timeout=60,
                                  headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == status, response.text
            # what the kernel's socket buffers took before the server closed: a few MiB at most
            assert body.asked < FIFTY_MB // 4, body.asked
        landing = httpx.get(f"{server.url}/")
        assert landing.headers["x-frame-options"] == "DENY" and TENANT not in landing.text
