"""The GraphQL schema of a release, and the cache that builds it once per (tenant, release).

`build_schema(registry)` turns the objects of one release into a Strawberry schema: for each
object a type, a connection, inputs for filters, sorts, values and grouping, the queries
`<name>(id)`, `<plural>(...)`, `<plural>Aggregate(...)` and the mutations `create<Name>`,
`update<Name>`, `delete<Name>`, `restore<Name>` and their batch forms; besides them, the
platform's own fields (`me`; the caller's notifications and tasks and the admins' rule preview,
see inbox.py). Building takes tens of milliseconds, so it never happens per request:
`SchemaCache` keeps the schema of each tenant's current release, builds a new one single-flight
when a release appears and swaps it in with one reference assignment. A request holds the
schema it started with until it ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from trellis.runtime.graphql import resolvers
from trellis.runtime.graphql.approvals import ApprovalFields, record_fields
from trellis.runtime.graphql.errors import log_unexpected
from trellis.runtime.graphql.handover import HandoverFields
from trellis.runtime.graphql.inbox import InboxFields, PlatformFields
from trellis.runtime.graphql.inputs import Inputs
from trellis.runtime.graphql.limits import MAX_COST, Limits
from trellis.runtime.graphql.maker import TypeMaker
from trellis.runtime.graphql.metrics import MetricFields
from trellis.runtime.graphql.names import NameTable
from trellis.runtime.graphql.scalars import SCALAR_OVERRIDES, BigInt
from trellis.runtime.graphql.scores import ScoreFields
from trellis.runtime.graphql.types import Outputs
from trellis.runtime.registry import Registry
from trellis.runtime.release_slots import ReleaseSlots

#: Names every generated annotation may use, besides the generated types themselves.
BASE_NAMESPACE: dict[str, Any] = {"ID": strawberry.ID, "Date": dt.date, "DateTime": dt.datetime, "Decimal": Decimal,
                                  "BigInt": BigInt}


def read_field(source: Any, name: str) -> Any:
    """The default resolver: plain fields read the row dict by their API (snake_case) name; a
    field the caller may not read is absent from the dict and reads as null."""
    if type(source) is dict:
        return source.get(name)
    return getattr(source, name, None)


class TenantSchema(strawberry.Schema):
    """A generated schema: knows its (tenant, release), logs only errors that are bugs."""

    tenant: str = ""
    release: int = 0

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_unexpected(errors)


#: The features' parts of every tenant schema, after the inbox's, in this order.
FEATURES: tuple[Callable[[InboxFields], PlatformFields], ...] = (ApprovalFields, ScoreFields, MetricFields,
                                                                 HandoverFields)


def build_schema(registry: Registry, max_cost: int = MAX_COST) -> TenantSchema:
    """`max_cost`: the most records one request may ask for (the installation's
    TRELLIS_GRAPHQL_MAX_COST; see cost.py)."""
    names = NameTable(dict(registry.objects))
    maker = TypeMaker(BASE_NAMESPACE)
    inputs = Inputs(maker, names, registry)
    objects = [registry.objects[name] for name in sorted(registry.objects)]
    for obj in objects:
        inputs.build(obj)
    outputs = Outputs(maker, names, inputs, registry, record_fields(maker))
    for obj in objects:
        outputs.build(obj)
    platform = InboxFields(maker)
    parts: list[PlatformFields] = [platform, *(feature(platform) for feature in FEATURES)]
    query = maker.object_type("Query", [
        maker.field("me", "me", "User", resolver=resolvers.me, description="The user the token belongs to."),
        *(field for obj in objects for field in outputs.query_fields(obj)),
        *(field for part in parts for field in part.query_fields())])
    mutation = maker.object_type("Mutation", [*(field for obj in objects for field in outputs.mutation_fields(obj)),
                                              *(field for part in parts for field in part.mutation_fields())])
    schema = TenantSchema(query=query, mutation=mutation, extensions=[Limits.with_max_cost(max_cost)], scalar_overrides=SCALAR_OVERRIDES,
                          config=StrawberryConfig(default_resolver=read_field))
    schema.tenant, schema.release = registry.tenant, registry.release
    return schema


class SchemaCache:
    """The schema of each tenant's newest release seen; built once per (tenant, release).

    Concurrent first requests for a release wait for the one builder instead of building again.
    The previous release's schema is kept too: a request that looked up its registry just
    before a publish still finds its schema instead of building it again."""

    KEEP = 2

    def __init__(self, builder: Callable[[Registry], TenantSchema] | None = None, max_cost: int = MAX_COST):
        self._builder = builder or partial(build_schema, max_cost=max_cost)
        self._slots: ReleaseSlots[TenantSchema] = ReleaseSlots(keep=self.KEEP)
        self.builds = 0

    def cached(self, registry: Registry) -> TenantSchema | None:
        """The schema for `registry` if it is built (cheap: call it on the event loop)."""
        return self._slots.get(registry.tenant, registry.release)

    def get(self, registry: Registry) -> TenantSchema:
        """The schema for `registry`, building it if needed (blocking: call it in a thread)."""
        found = self.cached(registry)
        if found is not None:
            return found
        schema = self._slots.build(registry.tenant, registry.release, lambda: self._build(registry))
        assert schema is not None  # build() waits for another builder
        return schema

    def _build(self, registry: Registry) -> TenantSchema:
        self.builds += 1
        return self._builder(registry)
