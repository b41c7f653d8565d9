"""The typed reading of an `object` document: field types and object, field and index definitions.

Storage, the runtime registry and the records service work from these. The module imports nothing
from `trellis.metadata`, so every other module there (expressions, names, objects) may import it
without a cycle. `trellis.metadata.objects` builds them from validated documents.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


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


#: Field types that hold a number, and those that hold a date (bounds, roll-ups and date triggers ask).
NUMBER_TYPES = frozenset({FieldType.INTEGER, FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT})
DATE_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME})


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

    @property
    def display_field(self) -> str | None:
        """The field people know a record by in lists and messages: `name`, `title`, `number` or
        `subject` if it has one, else its first text field (None: show the id)."""
        texts = [f.name for f in self.fields.values() if f.type in (FieldType.STRING, FieldType.TEXT)]
        return next((n for n in ("name", "title", "number", "subject") if n in texts), texts[0] if texts else None)
