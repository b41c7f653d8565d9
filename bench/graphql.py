"""graphql: a real `trellis serve` on loopback against raw SQLAlchemy Core + `json.dumps`.

A tenant gets the records benchmarks' `contract` (see `bench.generate.CONTRACT`) and 100,000
contracts over 1,000 accounts, filled in SQL (`bench.records.fill_contracts`: 40% active, end
dates over three years, 1% soft-deleted). The server runs as its own process (`python -m
trellis.cli serve`, one worker); the benchmark is its client, concurrency 8, with an
API token of an admin, and sends a fixed number of requests per case:

* `page50`   `contracts(first: 50, where: {status: {_eq: "生效"}}, orderBy: [{endDate: ASC}])` with
             each contract's `account { id name region }` nested, edges, cursors and pageInfo;
* `by_id`    `contract(id)` of ids spread over the table.

The baseline does the same reads in this process with the same concurrency (a pool of 8
threads): per request one read transaction with the hand-written page query (`deleted_at IS
NULL`, `ORDER BY end_date, id`, `LIMIT 51`) and one `IN` query for the page's accounts — or the
one-row query — then `json.dumps` of a response shaped like the GraphQL one. Both sides read the
same tables; their answers are compared before timing. Figures: requests per second, p50 and p99
latency; the ratio is the wall time of the same number of requests (so: baseline throughput /
Trellis throughput). The Trellis side pays what a real request pays: HTTP on loopback, the token
check, the release check, GraphQL parsing (cached), validation (cached) and execution.

In-process (`page50_inproc`, `by_id_inproc`), one request at a time in this thread: the compiled
read path (`trellis.runtime.graphql.compiled`: cached parse and validation, the cost check,
variables, the plan's records-service calls, orjson) against the same Core + `json.dumps`; the
note gives graphql-core's (Strawberry's) figure for the same query beside it, and the SQL
statements and transactions each side runs per request (the token check and the release lookup
an HTTP request adds are counted apart).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from statistics import quantiles
from typing import Any

import httpx
from sqlalchemy import Engine, Table, event, select

from bench.add_field import fill_accounts, settle
from bench.backends import Backend
from bench.generate import contract_set
from bench.harness import Result, Sizes
from bench.records import ACTIVE, fill_contracts
from trellis.platform.db import Database
from trellis.platform.settings import Settings
from trellis.runtime.graphql import RequestContext, SchemaCache
from trellis.runtime.graphql.compiled import CompiledReads
from trellis.runtime.identity import UserService
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices
from trellis.runtime.storage import build_tables

NAME = "graphql"
TENANT = "bench"
CONCURRENCY = 8
PAGE = 50
ROOT = Path(__file__).resolve().parent.parent

PAGE_QUERY = """query Page($status: String!) {
  contracts(first: 50, where: {status: {_eq: $status}}, orderBy: [{endDate: ASC}]) {
    edges { cursor node { id number title status amount endDate account { id name region } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ONE_QUERY = "query One($id: ID!) { contract(id: $id) { id number title status amount endDate } }"


@dataclass(frozen=True)
class Scale:
    contracts: int
    requests: int  # per case and side, after a warm-up

    @classmethod
    def of(cls, sizes: Sizes) -> Scale:
        """100,000 contracts and 2,000 requests; the quick mode (10,000 rows) scales both down."""
        full = sizes.rows >= 100_000
        return cls(contracts=100_000 if full else 2_000, requests=2_000 if full else 80)


@dataclass(frozen=True)
class Timing:
    wall_s: float
    latencies_s: list[float]

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.wall_s

    def percentile(self, p: int) -> float:
        return quantiles(self.latencies_s, n=100, method="inclusive")[p - 1]

    def describe(self) -> str:
        return (f"{self.per_second:,.0f} req/s, p50 {self.percentile(50) * 1000:.1f} ms, "
                f"p99 {self.percentile(99) * 1000:.1f} ms")


# -- the server ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`trellis serve` (or `trellis demo`) on loopback for an installation's settings, as its own
    process group, stopped (with its workers) on exit. Also used by tests/server/test_serve_e2e.py
    and tests/cli/test_cli_demo.py."""

    def __init__(self, settings: Settings, workers: int = 1, command: str = "serve"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = command
        argv = cli_command(settings) + [command, "--host", "127.0.0.1", "--port", str(self.port),
                                        "--workers", str(workers)]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, start_new_session=True)

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"trellis {self.command} exited: {self.process.stderr.read().decode() if self.process.stderr else ''}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"trellis {self.command} did not answer /healthz within 60 s")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def cli_command(settings: Settings) -> list[str]:
    """`trellis` (as `python -m trellis.cli`) for an installation's settings."""
    argv = [sys.executable, "-m", "trellis.cli", "--data-dir", str(settings.data_dir)]
    return argv + (["--database-url", settings.database_url] if settings.database_url else [])


def clean_env() -> dict[str, str]:
    """This process's environment without TRELLIS_ settings: the command line says it all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TRELLIS_")}


# -- the two sides -------------------------------------------------------------------------------

async def _drive(count: int, call: Callable[[int], Awaitable[None]]) -> Timing:
    """`count` calls, CONCURRENCY at a time; each call's latency and the wall time of all."""
    latencies: list[float] = []
    counter = iter(range(count))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return Timing(time.perf_counter() - started, latencies)


class GraphQLSide:
    def __init__(self, url: str, token: str):
        self.url = f"{url}/t/{TENANT}/graphql"
        self.headers = {"Authorization": f"Bearer {token}"}

    async def run(self, count: int, query: str, variables: Callable[[int], dict[str, Any]]) -> Timing:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            async def call(i: int) -> None:
                response = await client.post(self.url, json={"query": query, "variables": variables(i)},
                                             headers=self.headers)
                body = response.json()
                if response.status_code != 200 or "errors" in body:
                    raise RuntimeError(f"GraphQL answered {response.status_code}: {body}")

            await _drive(min(count, 50), call)  # warm-up: connections, caches, the schema
            return await _drive(count, call)

    def answer(self, query: str, variables: dict[str, Any]) -> Any:
        return httpx.post(self.url, json={"query": query, "variables": variables}, headers=self.headers,
                          timeout=60).json()["data"]


class CoreSide:
    """The same reads written by hand: SQLAlchemy Core, then `json.dumps`, in a thread pool."""

    def __init__(self, db: Database, contract: Table, account: Table):
        self.db = db
        self.contract = contract
        self.account = account
        c = contract.c
        self.columns = [c.id, c.number, c.title, c.status, c.amount, c.end_date, c.account]
        self.page_statement = (select(*self.columns).where(c.deleted_at.is_(None), c.status == ACTIVE)
                               .order_by(c.end_date.asc().nulls_last(), c.id.asc()).limit(PAGE + 1))

    def _node(self, row: Any) -> dict[str, Any]:
        return {"id": row.id, "number": row.number, "title": row.title, "status": row.status,
                "amount": str(row.amount), "endDate": row.end_date.isoformat() if row.end_date else None}

    def page(self) -> str:
        with self.db.read() as conn:
            rows = conn.execute(self.page_statement).all()
            ids = {r.account for r in rows[:PAGE]}
            a = self.account.c
            accounts = {r.id: {"id": r.id, "name": r.name, "region": r.region}
                        for r in conn.execute(select(a.id, a.name, a.region).where(a.id.in_(ids),
                                                                                    a.deleted_at.is_(None)))}
        edges = [{"cursor": f"{r.end_date}|{r.id}", "node": {**self._node(r), "account": accounts.get(r.account)}}
                 for r in rows[:PAGE]]
        return json.dumps({"data": {"contracts": {"edges": edges, "pageInfo": {
            "hasNextPage": len(rows) > PAGE, "endCursor": edges[-1]["cursor"] if edges else None}}}},
            ensure_ascii=False)

    def one(self, record_id: str) -> str:
        c = self.contract.c
        with self.db.read() as conn:
            row = conn.execute(select(*self.columns).where(c.id == record_id, c.deleted_at.is_(None))).first()
        return json.dumps({"data": {"contract": None if row is None else self._node(row)}}, ensure_ascii=False)

    def run(self, count: int, work: Callable[[int], str]) -> Timing:
        def timed(i: int) -> float:
            started = time.perf_counter()
            work(i)
            return time.perf_counter() - started

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(timed, range(min(count, 50))))  # warm-up, like the other side
            started = time.perf_counter()
            latencies = list(pool.map(timed, range(count)))
        return Timing(time.perf_counter() - started, latencies)


# -- the benchmark -------------------------------------------------------------------------------

def _prepare(backend: Backend, scale: Scale) -> tuple[Database, str]:
    """The tenant with contracts published and filled, and an admin's API token."""
    db = backend.tenant(TENANT)
    store = MetadataStore(db)
    store.publish(contract_set(), author="bench", message="contracts")
    with db.write() as conn:
        fill_accounts(conn, replace(Sizes(), accounts=1_000))
        fill_contracts(conn, replace(Sizes(), rows=scale.contracts, accounts=1_000))
    settle(db.engine, db.schema, ("obj_account", "obj_contract"))
    users = UserService(db, store)
    users.create_user("bench@example.com", roles=["admin"])
    _, token = users.create_token("bench@example.com", name="bench")
    return db, token


def _sample_ids(db: Database, contract: Table, count: int) -> list[str]:
    with db.read() as conn:
        ids = list(conn.execute(select(contract.c.id).where(contract.c.deleted_at.is_(None))
                                .order_by(contract.c.number)).scalars())
    step = max(1, len(ids) // count)
    return ids[::step][:count]


def _check_same_answers(graphql: GraphQLSide, core: CoreSide, some_id: str) -> None:
    ours = graphql.answer(PAGE_QUERY, {"status": ACTIVE})["contracts"]["edges"]
    theirs = json.loads(core.page())["data"]["contracts"]["edges"]
    if [e["node"] for e in ours] != [e["node"] for e in theirs] or len(ours) != PAGE:
        raise AssertionError(f"the page differs: GraphQL {ours[:1]}…, Core {theirs[:1]}…")
    one = graphql.answer(ONE_QUERY, {"id": some_id})["contract"]
    if one != json.loads(core.one(some_id))["data"]["contract"]:
        raise AssertionError(f"contract {some_id} differs")


# -- in process ----------------------------------------------------------------------------------

class Counting:
    """SQL statements and transactions run on an engine while counting."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.statements = self.transactions = 0

    def _statement(self, *args: Any) -> None:
        self.statements += 1

    def _begin(self, *args: Any) -> None:
        self.transactions += 1

    def __enter__(self) -> Counting:
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "begin", self._begin)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)

    def describe(self) -> str:
        return f"{self.statements} statements in {self.transactions} transactions"


def _sequential(count: int, work: Callable[[], object]) -> float:
    """Seconds for `count` calls one after another, after a warm-up of a tenth of them."""
    for _ in range(max(count // 10, 5)):
        work()
    started = time.perf_counter()
    for _ in range(count):
        work()
    return time.perf_counter() - started


def _in_process(backend: Backend, token: str, core: CoreSide, ids: list[str], count: int) -> list[Result]:
    services = TenantServices(backend.installation)
    engine = services.database(TENANT).engine
    services.users(TENANT).actor_for_token(token)  # warm: the tenant and its release looked up once
    with Counting(engine) as auth:  # as graphql_app does: the token check reads the release it serves
        actor, release = services.users(TENANT).authenticate_token(token)
        records = services.records(TENANT, release=release)
    schema = SchemaCache().get(records.registry)
    reads = CompiledReads()

    def compiled(query: str, variables: dict[str, Any]) -> bytes:
        body = reads.answer(schema, query, variables, None, RequestContext(TENANT, actor, records))
        if body is None:
            raise RuntimeError(f"the compiled path did not answer: {dict(reads.stats)}")
        return body

    async def strawberry(query: str, variables: dict[str, Any], times: int) -> list[Any]:
        return [await schema.execute(query, variable_values=variables,
                                     context_value=RequestContext(TENANT, actor, records)) for _ in range(times)]

    def strawberry_seconds(query: str, variables: dict[str, Any]) -> float:
        asyncio.run(strawberry(query, variables, max(count // 10, 5)))
        started = time.perf_counter()
        asyncio.run(strawberry(query, variables, count))
        return time.perf_counter() - started

    cases = (("page50", PAGE_QUERY, {"status": ACTIVE}, core.page),
             ("by_id", ONE_QUERY, {"id": ids[0]}, lambda: core.one(ids[0])))
    results = []
    for label, query, variables, raw in cases:
        result = asyncio.run(strawberry(query, variables, 1))[0]
        if json.loads(compiled(query, variables)) != {"data": result.data} or result.errors:
            raise AssertionError(f"{label}: the compiled path and graphql-core answer differently")
        with Counting(engine) as ours:
            compiled(query, variables)
        with Counting(engine) as theirs:
            asyncio.run(strawberry(query, variables, 1))
        with Counting(engine) as hand:
            raw()
        ours_s = _sequential(count, partial(compiled, query, variables))
        raw_s = _sequential(count, raw)
        core_s = strawberry_seconds(query, variables)
        results.append(Result(
            f"{NAME}/{label}_inproc", backend.name, ours_s, raw_s,
            f"{count:,} requests one at a time in process: compiled read path {ours_s / count * 1000:.2f} ms "
            f"({ours.describe()}); graphql-core {core_s / count * 1000:.2f} ms ({core_s / raw_s:.1f}x raw; "
            f"{theirs.describe()}); Core + json.dumps {raw_s / count * 1000:.2f} ms ({hand.describe()}); "
            f"an HTTP request adds the token check, which reads the release too ({auth.describe()})"))
    return results


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    scale = Scale.of(sizes)
    db, token = _prepare(backend, scale)
    tables = build_tables(contract_set().objects)
    core = CoreSide(db, tables["contract"], tables["account"])
    ids = _sample_ids(db, tables["contract"], 1_000)
    in_process = _in_process(backend, token, core, ids, max(scale.requests // 4, 20))
    results = []
    with Server(backend.installation.settings) as server:
        graphql = GraphQLSide(server.url, token)
        _check_same_answers(graphql, core, ids[0])
        cases = (
            ("page50", f"page of {PAGE} of {scale.contracts:,} contracts, status filter, end-date sort, account nested",
             lambda: asyncio.run(graphql.run(scale.requests, PAGE_QUERY, lambda i: {"status": ACTIVE})),
             lambda: core.run(scale.requests, lambda i: core.page())),
            ("by_id", f"one contract by id of {scale.contracts:,}",
             lambda: asyncio.run(graphql.run(scale.requests, ONE_QUERY, lambda i: {"id": ids[i % len(ids)]})),
             lambda: core.run(scale.requests, lambda i: core.one(ids[i % len(ids)]))),
        )
        for label, what, ours, theirs in cases:
            trellis_t, baseline_t = ours(), theirs()
            results.append(Result(
                f"{NAME}/{label}", backend.name, trellis_t.wall_s, baseline_t.wall_s,
                f"{what}; {scale.requests:,} requests at concurrency {CONCURRENCY}: GraphQL over HTTP "
                f"{trellis_t.describe()}; Core + json.dumps {baseline_t.describe()}"))
    return results + in_process
