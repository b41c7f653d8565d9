"""The registry: compiled once per (tenant, release), cached, swapped atomically, single-flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from jsonschema import Draft202012Validator

from tests.helpers import metadata_set, obj
from trellis.platform.db import Database
from trellis.runtime.registry import Registry, RegistryCache, build_registry
from trellis.runtime.releases import MetadataStore, Release

ACCOUNT = obj({"name": {"type": "string", "maxLength": 5}, "email": {"type": "string", "format": "email"}},
              required=["name"])


@pytest.fixture
def store(tenant_db: Database) -> MetadataStore:
    store = MetadataStore(tenant_db)
    store.publish(metadata_set(account=ACCOUNT), author="t")
    return store


class CountingBuilder:
    """Wraps the real builder: counts builds and can hold one open until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(self, tenant: str, release: Release) -> Registry:
        self.calls += 1
        self.started.set()
        self.gate.wait(10)
        return build_registry(tenant, release)


def test_registry_holds_tables_and_reusable_validators(store: MetadataStore):
    registry = RegistryCache().current("acme", store)
    assert registry is not None and registry.release == 1
    assert registry.tables["account"].name == "obj_account"
    validator = registry.validators["account"]
    assert isinstance(validator, Draft202012Validator)
    errors = {e.json_path: e.message for e in validator.iter_errors({"name": "toolong", "email": "nope"})}
    assert set(errors) == {"$.name", "$.email"}  # format checking is on
    assert list(validator.iter_errors({"name": "ok", "email": "a@b.cn"})) == []


def test_none_before_the_first_publish(tenant_db: Database):
    assert RegistryCache().current("acme", MetadataStore(tenant_db)) is None


def test_concurrent_first_requests_build_once(store: MetadataStore):
    builder = CountingBuilder()
    builder.gate.clear()
    cache = RegistryCache(builder)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.current, "acme", store) for _ in range(8)]
        assert builder.started.wait(5)
        time.sleep(0.05)
        builder.gate.set()
        results = [f.result() for f in futures]
    assert builder.calls == 1
    assert all(r is results[0] for r in results)


def test_new_release_swaps_in_while_others_keep_serving_the_old_one(store: MetadataStore):
    builder = CountingBuilder()
    cache = RegistryCache(builder)
    first = cache.current("acme", store)
    assert first is not None and cache.current("acme", store) is first and builder.calls == 1

    store.publish(metadata_set(account=ACCOUNT, contact=obj({"name": {"type": "string"}})), author="t")
    builder.gate.clear()
    builder.started.clear()
    with ThreadPoolExecutor(2) as pool:
        building = pool.submit(cache.current, "acme", store)
        assert builder.started.wait(5)
        # while release 2 is being built (the builder is held), another request is served
        # release 1: it would block until the gate opens if it waited for the builder
        assert pool.submit(cache.current, "acme", store).result(timeout=5) is first
        builder.gate.set()
        second = building.result()
    assert second is not None and second.release == 2 and "contact" in second.tables
    assert cache.current("acme", store) is second
    assert builder.calls == 2
