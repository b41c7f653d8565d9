"""The metadata model: a set of JSON documents, each of one kind, and the compiled view of objects.

A `MetadataSet` is what a release holds: plain JSON documents keyed by (kind, name). It is
immutable; editing means building a new set. `ObjectDef`/`FieldDef` are the typed reading of an
`object` document that storage, the registry and later the records service work from; they are
built only from documents that passed validation (see `trellis.metadata.validation`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from trellis.metadata.documents import canonical_json, content_hash

#: Each kind of metadata item and the folder that holds its files on disk.
KIND_FOLDERS: Mapping[str, str] = MappingProxyType(
    {"object": "objects", "role": "roles", "workflow_rule": "workflow_rules"})
FOLDER_KINDS: Mapping[str, str] = MappingProxyType({v: k for k, v in KIND_FOLDERS.items()})

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
        return [name for (k, name) in self._items if k == kind]

    def documents(self, kind: str) -> dict[str, Mapping[str, Any]]:
        return {name: doc for (k, name), doc in self._items.items() if k == kind}

    @cached_property
    def content_hash(self) -> str:
        return content_hash([[kind, name, doc] for (kind, name), doc in self._items.items()])

    @cached_property
    def objects(self) -> Mapping[str, ObjectDef]:
        """Compiled object definitions; the set must have passed validation."""
        from trellis.metadata.objects import compile_objects

        return MappingProxyType(compile_objects(self.documents("object")))

    def item_hashes(self) -> dict[ItemKey, str]:
        return {key: content_hash(doc) for key, doc in self._items.items()}

    def canonical(self, key: ItemKey) -> str:
        return canonical_json(self._items[key])


class FieldType(enum.Enum):
    """What a property of an object definition is, read from its JSON Schema and `x-` keywords."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    CURRENCY = "currency"
    PERCENT = "percent"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "date-time"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    ENUM = "enum"
    MULTI_ENUM = "multi-enum"
    LOOKUP = "lookup"

    @property
    def is_decimal(self) -> bool:
        return self in (FieldType.CURRENCY, FieldType.PERCENT)


def localized(labels: Mapping[str, str], locale: str, fallback: str) -> str:
    """A label's text for `locale`: that locale, else the plain string ("*"), else English, else
    `fallback` — so a screen or a file header is never blank."""
    return labels.get(locale) or labels.get("*") or labels.get("en") or fallback


#: Decimal places kept for exact-decimal kinds when `x-scale` is not given.
DEFAULT_SCALE: Mapping[FieldType, int] = MappingProxyType({FieldType.CURRENCY: 2, FieldType.PERCENT: 2})


@dataclass(frozen=True)
class FieldDef:
    """One property of an object, typed."""

    name: str
    type: FieldType
    schema: Mapping[str, Any]
    required: bool = False
    label: Mapping[str, str] = field(default_factory=dict)
    ref: str | None = None  # target object of a lookup
    reverse: str | None = None  # name of the reverse relation on the target
    choices: tuple[str, ...] = ()  # enum / multi-enum values
    formula: str | None = None
    live: bool = False  # a formula that reads the clock: computed on read, never stored
    rollup: Mapping[str, Any] | None = None
    index: bool = False
    unique: bool = False
    track_history: bool = False
    scale: int | None = None  # decimal places of currency/percent

    @property
    def stored(self) -> bool:
        """Whether the field has a column (live formulas are computed on read)."""
        return not self.live

    @property
    def computed(self) -> bool:
        return self.formula is not None or self.rollup is not None


@dataclass(frozen=True)
class IndexDef:
    """An index asked for by `x-index`/`x-unique` (lookups get theirs implicitly)."""

    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ObjectDef:
    """An object definition, typed: its fields in authored order and the indexes it needs."""

    name: str
    schema: Mapping[str, Any]
    fields: Mapping[str, FieldDef]
    label: Mapping[str, str] = field(default_factory=dict)
    plural: str = ""  # x-plural, else the English plural of the name
    indexes: tuple[IndexDef, ...] = ()

    @property
    def table_name(self) -> str:
        return f"obj_{self.name}"

    @property
    def stored_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.stored]
