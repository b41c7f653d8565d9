"""Compile once, run many: the immutable `Registry` of one (tenant, release).

A registry holds everything a request needs that is derived from metadata: typed object
definitions, SQLAlchemy tables and one reusable JSON Schema validator per object, and each
kind's compiled form (`automation` indexes the workflow rules). The GraphQL schema is built from
it (`trellis.runtime.graphql.schema`). No request parses metadata.

`RegistryCache` keeps the newest registry per tenant and swaps it atomically when a new release
appears. Building is single-flight (`ReleaseSlots`): one thread builds; the others keep serving
the registry they had (or, when there is none yet, wait for the builder instead of building again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from jsonschema import Draft202012Validator
from sqlalchemy import Table

from trellis.metadata.model import MetadataSet, ObjectDef
from trellis.runtime.automation.rules import EMPTY_INDEX, RuleIndex, compile_rules
from trellis.runtime.compiled import CompiledObject, compile_objects
from trellis.runtime.release_slots import ReleaseSlots
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


class RegistryCache:
    """The current registry of each tenant, rebuilt single-flight when the release changes."""

    def __init__(self, builder: Callable[[str, Release], Registry] = build_registry):
        self._builder = builder
        self._slots: ReleaseSlots[Registry] = ReleaseSlots(keep=1)

    def current(self, tenant: str, store: MetadataStore) -> Registry | None:
        """The registry of the tenant's newest release (None before its first publish)."""
        number = store.current_number()
        if number is None:
            return None
        return self.get(tenant, store, number)

    def get(self, tenant: str, store: MetadataStore, number: int) -> Registry:
        """Release `number`'s registry, or a newer one already served. While another thread builds
        it, callers that have a registry keep serving the previous release instead of waiting."""
        newest = self._slots.newest(tenant)
        if newest is not None and newest[0] >= number:
            return newest[1]
        built = self._slots.build(tenant, number, lambda: self._builder(tenant, store.release(number)),
                                  wait=newest is None)
        if built is not None:
            return built
        assert newest is not None  # build() waits when there is nothing to serve meanwhile
        return newest[1]
