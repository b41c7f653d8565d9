"""What a compiled query does, as plain frozen data: per response key, where its value comes from.

The compiler (compiler.py) builds it once per query; run.py walks it per request. Nothing here
touches the database or depends on the request, except `Root.arguments`, read per request from
the request's variables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import FieldNode, GraphQLField
from strawberry.types.arguments import StrawberryArgument

#: A leaf value as the schema's scalar or enum writes it (raises `Fallback` when it cannot).
Coerce = Callable[[Any], Any]


class Fallback(Exception):  # noqa: N818 - a signal, not an error: graphql-core answers instead
    """The compiled path cannot answer this request exactly: let graphql-core answer it."""


@dataclass(frozen=True)
class Constant:
    """A value known when compiling: `__typename`."""

    key: str
    value: str


@dataclass(frozen=True)
class Leaf:
    """A scalar or enum read from the row dict under `source` (absent reads as null)."""

    key: str
    source: str
    coerce: Coerce
    nullable: bool
    many: bool = False  # a list of values (a multi-choice field); its items are never null


@dataclass(frozen=True)
class Lookup:
    """A record another record points to (`account`), loaded in one batch per level."""

    key: str
    source: str  # the lookup field holding the target's id
    target: str  # the target object
    selection: Records


@dataclass(frozen=True)
class Owner:
    """The user owning a record (`owner`), loaded in one batch per level."""

    key: str
    selection: tuple[Constant | Leaf, ...]


RecordField = Constant | Leaf | Lookup | Owner


@dataclass(frozen=True)
class Records:
    """What is selected of each record of one object."""

    object_name: str
    fields: tuple[RecordField, ...]


@dataclass(frozen=True)
class PageInfoField:
    key: str
    attribute: str  # has_next, has_previous, start_cursor, end_cursor (of `Page`)


@dataclass(frozen=True)
class PageInfo:
    key: str
    fields: tuple[Constant | PageInfoField, ...]


@dataclass(frozen=True)
class Cursor:
    key: str


@dataclass(frozen=True)
class Node:
    key: str
    selection: Records


@dataclass(frozen=True)
class Edges:
    key: str
    fields: tuple[Constant | Cursor | Node, ...]


@dataclass(frozen=True)
class Nodes:
    key: str
    selection: Records


@dataclass(frozen=True)
class TotalCount:
    key: str


ConnectionField = Constant | Edges | Nodes | PageInfo | TotalCount


@dataclass(frozen=True)
class Root:
    """A root field over one object: `contracts(...)` (`many`) or `contract(id)` (`one`).

    `definition`, `node` and `arguments` give its arguments per request exactly as graphql-core
    and Strawberry hand them to the resolver."""

    key: str
    kind: str  # "many" | "one"
    object_name: str
    definition: GraphQLField
    node: FieldNode
    arguments: tuple[StrawberryArgument, ...]
    connection: tuple[ConnectionField, ...] = ()  # many
    record: Records | None = None  # one
    with_total: bool = False

    def asks_lookups(self) -> list[tuple[str, str]]:
        """The (field, target) lookups asked of the page's records, to fetch with the page."""
        selections = [f.selection for f in self.connection if isinstance(f, Nodes)]
        selections += [n.selection for f in self.connection if isinstance(f, Edges) for n in f.fields
                       if isinstance(n, Node)]
        return sorted({(f.source, f.target) for s in selections for f in s.fields if isinstance(f, Lookup)})


@dataclass(frozen=True)
class Plan:
    """A whole query operation; `release` is the release it was compiled for; `reads`: per
    object, the fields any part of the query reads of its records (all that is fetched)."""

    tenant: str
    release: int
    fields: tuple[Constant | Root, ...]
    reads: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tenant: str, release: int, fields: tuple[Constant | Root, ...]) -> Plan:
        return cls(tenant, release, fields, _reads(fields))

    def reads_of(self, object_name: str) -> frozenset[str]:
        """The fields read of `object_name`'s records (only `id` when none is selected)."""
        return self.reads.get(object_name, _ID_ONLY)


_ID_ONLY = frozenset({"id"})


def _reads(fields: tuple[Constant | Root, ...]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}

    def walk(records: Records) -> None:
        names = found.setdefault(records.object_name, {"id"})
        for item in records.fields:
            if isinstance(item, Leaf):
                names.add(item.source)
            elif isinstance(item, Lookup):
                names.add(item.source)
                walk(item.selection)
            elif isinstance(item, Owner):
                names.add("owner_id")

    for root in fields:
        if isinstance(root, Root):
            found.setdefault(root.object_name, {"id"})
            selections = [root.record] if root.record is not None else []
            selections += [f.selection for f in root.connection if isinstance(f, Nodes)]
            selections += [n.selection for f in root.connection if isinstance(f, Edges) for n in f.fields
                           if isinstance(n, Node)]
            for selection in selections:
                walk(selection)
    return {name: frozenset(names) for name, names in found.items()}
