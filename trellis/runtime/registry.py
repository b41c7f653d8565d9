"""Compile once, run many: the immutable `Registry` of one (tenant, release).

A registry holds everything a request needs that is derived from metadata: typed object
definitions, SQLAlchemy tables and one reusable JSON Schema validator per object. Later issues
add the GraphQL schema; `automation` indexes the workflow rules. No request parses metadata.

`RegistryCache` keeps the newest registry per tenant and swaps it atomically when a new release
appears. Building is single-flight: one thread builds; the others keep serving the registry they
had (or, when there is none yet, wait for the builder instead of building again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from jsonschema import Draft202012Validator
from sqlalchemy import Table

from trellis.metadata.model import MetadataSet, ObjectDef
from trellis.runtime.automation.rules import EMPTY_INDEX, RuleIndex, compile_rules
from trellis.runtime.compiled import CompiledObject, compile_objects
from trellis.runtime.releases import MetadataStore, Release
from trellis.runtime.storage import build_tables


@dataclass(frozen=True)
class Registry:
    tenant: str
    release: int
    metadata: MetadataSet
    objects: Mapping[str, ObjectDef]
    tables: Mapping[str, Table]
    compiled: Mapping[str, CompiledObject]
    automation: RuleIndex = EMPTY_INDEX

    @property
    def validators(self) -> Mapping[str, Draft202012Validator]:
        return {name: c.validator for name, c in self.compiled.items()}


def build_registry(tenant: str, release: Release) -> Registry:
    return registry_for(tenant, release.number, release.metadata)


def registry_for(tenant: str, number: int, metadata: MetadataSet) -> Registry:
    """The registry of a validated set: a release's, or drafts' (to preview them) over release
    `number`'s tables."""
    objects = metadata.objects
    tables = build_tables(objects)
    return Registry(
        tenant=tenant,
        release=number,
        metadata=metadata,
        objects=objects,
        tables=MappingProxyType(tables),
        compiled=MappingProxyType(compile_objects(objects, tables)),
        automation=compile_rules(metadata),
    )


class _Slot:
    """Per-tenant state: the registry being served and the lock its builder holds."""

    def __init__(self) -> None:
        self.registry: Registry | None = None
        self.building = threading.Lock()


class RegistryCache:
    """The current registry of each tenant, rebuilt single-flight when the release changes."""

    def __init__(self, builder: Callable[[str, Release], Registry] = build_registry):
        self._builder = builder
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()

    def _slot(self, tenant: str) -> _Slot:
        with self._slots_lock:
            return self._slots.setdefault(tenant, _Slot())

    def current(self, tenant: str, store: MetadataStore) -> Registry | None:
        """The registry of the tenant's newest release (None before its first publish)."""
        number = store.current_number()
        if number is None:
            return None
        return self.get(tenant, store, number)

    def get(self, tenant: str, store: MetadataStore, number: int) -> Registry:
        slot = self._slot(tenant)
        served = slot.registry
        if served is not None and served.release >= number:
            return served
        if served is not None and not slot.building.acquire(blocking=False):
            return served  # someone is building the new one; keep serving the previous release
        if served is None:
            slot.building.acquire()
        try:
            served = slot.registry
            if served is not None and served.release >= number:
                return served
            built = self._builder(tenant, store.release(number))
            slot.registry = built  # one reference assignment: readers see old or new, never half
            return built
        finally:
            slot.building.release()

    def forget(self, tenant: str) -> None:
        with self._slots_lock:
            self._slots.pop(tenant, None)
