"""workspace: a list page of 50 contracts against the equivalent GraphQL query, in one process.

The tenant is the graphql benchmark's (`bench.graphql._prepare`: the records benchmarks'
`contract`, 100,000 contracts over 1,000 accounts; 2,000 in the quick mode). Both sides go
through the same ASGI app (`trellis.server.app.create_app`) over httpx's ASGI transport, one
request at a time, so the ratio is what the page adds over the API:

* Trellis side: `GET /t/bench/app/contract?…`, the workspace's list page for a signed-in admin
  (session cookie): columns number, title, status, amount, end date and the account (a link
  named by the account's name), `status = 生效`, sorted by end date, 50 rows, rendered to HTML
  with its filter form, column chooser and saved views;
* baseline: `POST /t/bench/graphql` with an API token, `contracts(first: 50, where: {status:
  {_eq: "生效"}}, orderBy: [{endDate: ASC}])` with the same fields, `account { id name }`,
  cursors and `pageInfo` (the compiled read path answers it).

Both must show the same 50 contracts in the same order before anything is timed. Target: the
page within 2x the query (issue 15).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import httpx
from starlette.applications import Starlette

from bench.backends import Backend
from bench.graphql import Scale, _prepare
from bench.harness import Result, Sizes
from bench.records import ACTIVE
from trellis.runtime.identity import UserService
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

NAME = "workspace"
TENANT = "bench"
PASSWORD = "bench horse battery staple"
LIST = (f"/t/{TENANT}/app/contract?c=number&c=title&c=status&c=amount&c=end_date&c=account"
        f"&f=status&op=eq&v={ACTIVE}&sort=end_date&dir=asc")
QUERY = """query Page($status: String!) {
  contracts(first: 50, where: {status: {_eq: $status}}, orderBy: [{endDate: ASC}]) {
    edges { cursor node { id number title status amount endDate account { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ROW = re.compile(rf'<a href="/t/{TENANT}/app/contract/([^"]+)">')


async def _signed_in(client: httpx.AsyncClient) -> None:
    login = await client.get(f"/t/{TENANT}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    answer = await client.post(f"/t/{TENANT}/login", data={"csrf": csrf.group(1), "email": "bench@example.com",
                                                            "password": PASSWORD})
    if answer.status_code != 303:
        raise RuntimeError(f"signing in failed: {answer.status_code}")


async def _sequential(count: int, work: Callable[[], Awaitable[object]]) -> float:
    for _ in range(max(count // 10, 3)):
        await work()
    started = time.perf_counter()
    for _ in range(count):
        await work()
    return time.perf_counter() - started


async def _compare(app: Starlette, token: str, count: int) -> tuple[float, float]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await _signed_in(client)

        async def page() -> list[str]:
            answer = await client.get(LIST)
            if answer.status_code != 200:
                raise RuntimeError(f"the list page answered {answer.status_code}: {answer.text[:300]}")
            return ROW.findall(answer.text)

        async def query() -> list[str]:
            answer = await client.post(f"/t/{TENANT}/graphql", json={"query": QUERY, "variables": {"status": ACTIVE}},
                                       headers={"Authorization": f"Bearer {token}"})
            return [e["node"]["id"] for e in answer.json()["data"]["contracts"]["edges"]]

        shown, asked = await page(), await query()
        if shown != asked or len(shown) != 50:
            raise AssertionError(f"the page and the query differ: {shown[:3]}… vs {asked[:3]}…")
        ours, theirs = [], []
        for _ in range(3):  # alternately, best of 3
            ours.append(await _sequential(count, page))
            theirs.append(await _sequential(count, query))
        return min(ours), min(theirs)


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    scale = Scale.of(sizes)
    db, token = _prepare(backend, scale)
    UserService(db, MetadataStore(db)).set_password("bench@example.com", PASSWORD)
    app = create_app(backend.installation, TenantServices(backend.installation))
    count = max(scale.requests // 10, 20)
    ours, theirs = asyncio.run(_compare(app, token, count))
    return [Result(f"{NAME}/list50", backend.name, ours / count, theirs / count,
                   f"seconds per request; the contract list page (50 rows, 6 columns, account names) vs the same "
                   f"page as a GraphQL query, both through the ASGI app in process, {count} requests each, best of 3, "
                   f"over {scale.contracts:,} contracts")]
