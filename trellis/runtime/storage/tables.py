"""Object definitions → SQLAlchemy `Table`s: one table per object, standard columns first.

This is the single mapping from field types to column types; the planner compares the
`storage_type` of a field across releases to decide what DDL a change needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from trellis.metadata.model import FieldDef, FieldType, ObjectDef
from trellis.metadata.names import STANDARD_COLUMNS
from trellis.metadata.objects import index_name
from trellis.platform.sqltypes import ExactDecimal, UtcDateTime

ID_LENGTH = 36  # UUIDv7 in its canonical text form
_PRECISION = {FieldType.CURRENCY: 18, FieldType.PERCENT: 12}
_STRINGS = {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL, FieldType.ENUM}


def storage_type(field: FieldDef) -> str:
    """A short name of what the column stores; equal names mean no DDL is needed."""
    if field.type in _STRINGS:
        return "string"
    if field.type is FieldType.LOOKUP:
        return f"ref:{field.ref}"
    if field.type.is_decimal:
        return f"decimal({_PRECISION[field.type]},{field.scale})"
    return {
        FieldType.INTEGER: "bigint",
        FieldType.NUMBER: "double",
        FieldType.BOOLEAN: "boolean",
        FieldType.DATE: "date",
        FieldType.DATETIME: "datetime",
        FieldType.MULTI_ENUM: "json",
    }[field.type]


def column_type(field: FieldDef) -> TypeEngine[Any]:
    if field.type in _STRINGS:
        return String()
    if field.type is FieldType.LOOKUP:
        return String(ID_LENGTH)
    if field.type.is_decimal:
        assert field.scale is not None
        return ExactDecimal(_PRECISION[field.type], field.scale)
    others: dict[FieldType, TypeEngine[Any]] = {
        FieldType.INTEGER: BigInteger(),
        FieldType.NUMBER: Double(),
        FieldType.BOOLEAN: Boolean(),
        FieldType.DATE: Date(),
        FieldType.DATETIME: UtcDateTime(),
        FieldType.MULTI_ENUM: JSON().with_variant(JSONB(), "postgresql"),
    }
    return others[field.type]


def foreign_key_name(obj: ObjectDef, field: FieldDef) -> str:
    return index_name("fk", obj.name, (field.name,))


def field_column(obj: ObjectDef, field: FieldDef) -> Column[Any]:
    """The column of one stored field; nullable, because `required` is enforced by validation
    (a NOT NULL column could not be added to a table that already has rows)."""
    if field.type is FieldType.LOOKUP:
        target = f"obj_{field.ref}.id"
        return Column(field.name, column_type(field), ForeignKey(target, name=foreign_key_name(obj, field)))
    return Column(field.name, column_type(field))


#: What the standard columns need beyond their names and types (`STANDARD_COLUMNS`).
_STANDARD_OPTIONS: Mapping[str, Mapping[str, Any]] = {
    "id": {"primary_key": True},
    "created_at": {"nullable": False},
    "updated_at": {"nullable": False},
    "version": {"nullable": False, "server_default": "1"},
}


def standard_columns() -> list[Column[Any]]:
    """The columns every object table has, in the order of `STANDARD_COLUMNS`."""
    return [Column(name, _standard_type(name, field_type), **_STANDARD_OPTIONS.get(name, {}))
            for name, field_type in STANDARD_COLUMNS.items()]


def _standard_type(name: str, field_type: FieldType) -> TypeEngine[Any]:
    if field_type is FieldType.STRING:
        return String(ID_LENGTH if name == "id" else 64)  # the others hold user ids
    return Integer() if field_type is FieldType.INTEGER else UtcDateTime()


def standard_indexes(obj: ObjectDef) -> list[tuple[str, tuple[str, ...]]]:
    return [(index_name("ix", obj.name, ("owner_id",)), ("owner_id",))]


def build_table(obj: ObjectDef, metadata: MetaData) -> Table:
    table = Table(obj.table_name, metadata, *standard_columns(),
                  *(field_column(obj, f) for f in obj.stored_fields))
    live = table.c.deleted_at.is_(None)
    # Non-unique indexes cover live rows only (every list, count and filter adds
    # `deleted_at IS NULL`): counts answer from the index. Unique ones must see every row.
    for name, columns in standard_indexes(obj):
        Index(name, *(table.c[c] for c in columns), sqlite_where=live, postgresql_where=live)
    for index in obj.indexes:
        where: dict[str, Any] = {} if index.unique else {"sqlite_where": live, "postgresql_where": live}
        Index(index.name, *(table.c[c] for c in index.fields), unique=index.unique, **where)
    return table


def build_tables(objects: Mapping[str, ObjectDef]) -> dict[str, Table]:
    """Tables for a whole release, sharing one MetaData so foreign keys resolve."""
    metadata = MetaData()
    return {name: build_table(obj, metadata) for name, obj in objects.items()}
