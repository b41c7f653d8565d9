"""Request bodies: the token is checked from the headers before the body is read, and the body
is read with its limit as it streams in, however it is framed. Each body here is generated
lazily and counts the chunks the server asked for, so "not read" is measured in bytes, not time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.runtime.graphql.conftest import TENANT
from tests.security.conftest import SiteFactory
from trellis.server.graphql_app import MAX_BODY

pytestmark = pytest.mark.anyio

CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024 // CHUNK  # chunks
#: the most chunks a body refused at the limit is read for: the limit, and the chunk that passed it
AT_THE_LIMIT = MAX_BODY // CHUNK + 1


class LazyBody:
    """`chunks` chunks of 64 KiB, made only when asked for; `asked` counts them."""

    def __init__(self, chunks: int):
        self.chunks = chunks
        self.asked = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.asked += 1
            yield b" " * CHUNK


@pytest.mark.parametrize("path", ["graphql", "metadata/graphql"])
@pytest.mark.parametrize("token, status", [(None, 401), ("trl_bogus", 401), ("rep", 403)])
async def test_a_refused_token_is_answered_without_reading_the_body(site: SiteFactory, path: str,
                                                                    token: str | None, status: int) -> None:
    if path == "graphql" and token == "rep":
        status = 413  # a rep may use the data API: the body is read, up to the limit
    body = LazyBody(FIFTY_MB)
    async with site() as served:
        response = await served.client.post(f"/t/{TENANT}/{path}", content=body, headers=served.auth(token))
    assert response.status_code == status, response.text
    if status == 413:
        assert body.asked <= AT_THE_LIMIT
    else:
        assert body.asked == 0
        assert response.json()["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")
    assert response.headers["connection"] == "close"  # the rest is not read to find a next request


@pytest.mark.parametrize("path", ["graphql", "metadata/graphql"])
async def test_an_oversized_chunked_body_is_refused_once_the_limit_is_passed(site: SiteFactory, path: str) -> None:
    body = LazyBody(FIFTY_MB)
    async with site() as served:
        response = await served.client.post(f"/t/{TENANT}/{path}", content=body, headers=served.auth("admin"))
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and f"{MAX_BODY:,} bytes" in error["message"]
    assert MAX_BODY // CHUNK <= body.asked <= AT_THE_LIMIT
    assert response.headers["connection"] == "close"


async def test_a_lying_content_length_does_not_raise_the_limit(site: SiteFactory) -> None:
    body = LazyBody(FIFTY_MB)
    async with site() as served:
        response = await served.client.post(f"/t/{TENANT}/graphql", content=body,
                                            headers={**served.auth("admin"), "Content-Length": "100"})
    assert response.status_code == 413
    assert body.asked <= AT_THE_LIMIT


async def test_a_declared_length_over_the_limit_is_refused_unread(site: SiteFactory) -> None:
    body = LazyBody(FIFTY_MB)
    async with site() as served:
        response = await served.client.post(f"/t/{TENANT}/graphql", content=body,
                                            headers={**served.auth("admin"), "Content-Length": str(MAX_BODY + 1)})
    assert response.status_code == 413 and body.asked == 0


async def test_a_body_at_the_limit_is_read(site: SiteFactory) -> None:
    query = b'{"query": "{ me { email } }"}'
    padded = query + b" " * (MAX_BODY - len(query))  # JSON allows trailing white space
    async with site() as served:
        response = await served.client.post(f"/t/{TENANT}/graphql", content=padded, headers=served.auth("admin"))
        assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "ann@example.com"
        assert "connection" not in response.headers  # kept alive: the body was read whole
        response = await served.client.post(f"/t/{TENANT}/graphql", content=padded + b" ",
                                            headers=served.auth("admin"))
        assert response.status_code == 413
