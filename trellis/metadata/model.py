"""The metadata model: a set of JSON documents, each of one kind, and the compiled view of objects.

A `MetadataSet` is what a release holds: plain JSON documents keyed by (kind, name). It is
immutable; editing means building a new set. Its `objects` are the typed reading of its `object`
documents (`trellis.metadata.definitions`), built only from a set that passed validation (see
`trellis.metadata.validation`). The definitions are importable from here too, where most of the
platform has always imported them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Any

from trellis.metadata.definitions import (
    DEFAULT_SCALE,
    FieldDef,
    FieldType,
    IndexDef,
    ObjectDef,
    localized,
)
from trellis.metadata.documents import canonical_json, content_hash
from trellis.metadata.objects import compile_objects, scanned_fields

ItemKey = tuple[str, str]  # (kind, name)


class MetadataSet:
    """An immutable collection of metadata documents keyed by (kind, name)."""

    def __init__(self, items: Mapping[ItemKey, Mapping[str, Any]] | None = None):
        self._items: dict[ItemKey, Mapping[str, Any]] = dict(sorted((items or {}).items()))

    def __iter__(self) -> Iterator[ItemKey]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __getitem__(self, key: ItemKey) -> Mapping[str, Any]:
        return self._items[key]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetadataSet) and self.content_hash == other.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def items(self) -> Iterator[tuple[ItemKey, Mapping[str, Any]]]:
        return iter(self._items.items())

    def names(self, kind: str) -> list[str]:
        return list(self._by_kind.get(kind, ()))

    def documents(self, kind: str) -> dict[str, Mapping[str, Any]]:
        """The documents of one kind by name (a copy: the set stays as it is). Write hooks ask
        this on every write, so it reads an index, not every item of the set."""
        return dict(self._by_kind.get(kind, {}))

    @cached_property
    def _by_kind(self) -> dict[str, dict[str, Mapping[str, Any]]]:
        index: dict[str, dict[str, Mapping[str, Any]]] = {}
        for (kind, name), document in self._items.items():
            index.setdefault(kind, {})[name] = document
        return index

    @cached_property
    def content_hash(self) -> str:
        return content_hash([[kind, name, doc] for (kind, name), doc in self._items.items()])

    @cached_property
    def objects(self) -> Mapping[str, ObjectDef]:
        """Compiled object definitions; the set must have passed validation."""
        return MappingProxyType(compile_objects(self.documents("object"),
                                                scanned_fields(self.documents("workflow_rule"))))

    def item_hashes(self) -> dict[ItemKey, str]:
        return {key: content_hash(doc) for key, doc in self._items.items()}

    def canonical(self, key: ItemKey) -> str:
        return canonical_json(self._items[key])


__all__ = ["DEFAULT_SCALE", "FieldDef", "FieldType", "IndexDef", "ItemKey", "MetadataSet", "ObjectDef", "localized"]
