"""The schema's life: built once per (tenant, release), single-flight, swapped atomically when
a release is published, while requests already running finish on the schema they began with."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from tests.runtime.crm import OBJECTS
from tests.runtime.graphql.conftest import Api, crm_set
from tests.runtime.graphql.test_graphql_queries import account
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.records.service import RecordsService

pytestmark = pytest.mark.anyio


def with_field(**extra: Any) -> Any:
    """The CRM set with one more field on contract."""
    contract = {**OBJECTS["contract"], "properties": {**OBJECTS["contract"]["properties"], **extra}}
    return crm_set(contract=contract)


async def test_a_published_field_is_served_on_the_next_request(api: Api) -> None:
    await account(api, "华为")
    error = await api.error("{ contracts { nodes { priority } } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    api.store.publish(with_field(priority={"type": "string", "enum": ["low", "high"]}), author="test")
    data = await api.data("""mutation($a: ID!) { createContract(input: {number: "HT-1", accountId: $a, priority: high})
        { priority } }""", {"a": (await api.data("{ accounts { nodes { id } } }"))["accounts"]["nodes"][0]["id"]})
    assert data["createContract"] == {"priority": "high"}  # an enum, in the schema of release 2
    data = await api.data("{ contracts(where: {priority: {_eq: high}}) { totalCount } }")
    assert data["contracts"]["totalCount"] == 1


async def test_the_schema_is_built_once_per_release(api: Api) -> None:
    for _ in range(5):
        await api.data("{ me { email } }")
    assert api.schemas.builds == 1
    api.store.publish(with_field(note={"type": "string"}), author="test")
    for _ in range(5):
        await api.data("{ contracts { nodes { note } } }")
    assert api.schemas.builds == 2


async def test_concurrent_first_requests_build_once(api: Api) -> None:
    built: list[int] = []
    real_builder = api.schemas._builder

    def slow_builder(registry):  # type: ignore[no-untyped-def]
        built.append(registry.release)
        time.sleep(0.3)  # long enough for every request to arrive while it builds
        return real_builder(registry)

    api.schemas._builder = slow_builder
    bodies = await asyncio.gather(*(api("{ me { email } }") for _ in range(12)))
    assert all(b == {"data": {"me": {"email": "ann@example.com"}}} for b in bodies)
    assert built == [1]


async def test_requests_in_flight_finish_on_their_schema(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    await account(api, "华为")
    await api.data("{ me { email } }")
    entered, release = threading.Event(), threading.Event()
    real_list = RecordsService.list

    def blocking_list(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.registry.release == 1:
            entered.set()
            assert release.wait(10)
        return real_list(self, *args, **kwargs)

    monkeypatch.setattr(RecordsService, "list", blocking_list)
    slow = asyncio.ensure_future(api("{ accounts { nodes { name } } }"))
    assert await asyncio.to_thread(entered.wait, 10)  # the request runs on release 1's schema
    old_schema = api.schemas._slots.get("acme", 1)
    api.store.publish(with_field(note={"type": "string"}), author="test")
    fresh = await api.data("{ contracts { nodes { note } } accounts { nodes { name } } }")
    assert fresh["accounts"]["nodes"] == [{"name": "华为"}]  # a new request sees release 2 at once
    assert api.schemas._slots.releases("acme") == [1, 2]  # release 1's is kept for requests like this one
    assert api.schemas._slots.get("acme", 1) is old_schema
    release.set()
    assert await slow == {"data": {"accounts": {"nodes": [{"name": "华为"}]}}}  # finished on release 1


@dataclass(frozen=True)
class FakeRegistry:
    tenant: str
    release: int


def test_the_cache_keeps_the_newest_schema_and_the_one_before() -> None:
    built: list[int] = []

    def builder(registry: Any) -> Any:
        built.append(registry.release)
        return SimpleNamespace(release=registry.release)

    cache = SchemaCache(builder)  # type: ignore[arg-type]
    for release in (1, 1, 2, 1, 2, 3, 3):
        assert cache.get(FakeRegistry("acme", release)).release == release  # type: ignore[arg-type]
    assert built == [1, 2, 3]
    assert cache.cached(FakeRegistry("acme", 1)) is None  # type: ignore[arg-type]
    assert cache.cached(FakeRegistry("acme", 2)) is not None  # type: ignore[arg-type]
    assert cache.cached(FakeRegistry("other", 3)) is None  # type: ignore[arg-type]
