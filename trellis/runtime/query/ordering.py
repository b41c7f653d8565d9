"""`orderBy` and keyset (cursor) pagination.

Every sort ends with `id`, so the order is total and a cursor — the sort values of one row —
names a unique position. Null placement is always explicit (PostgreSQL and SQLite disagree by
default): ASC puts nulls last and DESC puts them first unless a `_NULLS_` direction says so.
Cursors are opaque base64 JSON that also carry a fingerprint of the sort, so a cursor from one
ordering cannot be replayed against another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.selectable import FromClause

from trellis.metadata.model import FieldDef, FieldType
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput
from trellis.runtime.query.columns import STANDARD_FIELDS, ColumnResolver, standard_field

#: direction → (descending, nulls first)
DIRECTIONS: Mapping[str, tuple[bool, bool]] = {
    "ASC": (False, False),
    "DESC": (True, True),
    "ASC_NULLS_FIRST": (False, True),
    "ASC_NULLS_LAST": (False, False),
    "DESC_NULLS_FIRST": (True, True),
    "DESC_NULLS_LAST": (True, False),
}
UNSORTABLE = frozenset({FieldType.MULTI_ENUM})
#: Standard columns declared NOT NULL: their sorts and cursors need no null handling, which
#: lets the database bound an index scan with a plain range.
NOT_NULL = frozenset({"id", "created_at", "updated_at", "version"})


@dataclass(frozen=True)
class SortKey:
    name: str
    field: FieldDef
    expression: ColumnElement[Any]
    descending: bool
    nulls_first: bool

    def reversed(self) -> SortKey:
        return SortKey(self.name, self.field, self.expression, not self.descending, not self.nulls_first)

    @property
    def nullable(self) -> bool:
        return self.name not in NOT_NULL

    def clause(self) -> UnaryExpression[Any]:
        ordered = self.expression.desc() if self.descending else self.expression.asc()
        if not self.nullable:
            return ordered
        return ordered.nulls_first() if self.nulls_first else ordered.nulls_last()


def sort_keys(resolver: ColumnResolver, actor: Actor, object_name: str,
              order_by: Sequence[Mapping[str, str]] | None, table: FromClause) -> list[SortKey]:
    """`[{"end_date": "ASC"}, {"amount": "DESC_NULLS_LAST"}]` → sort keys, `id` appended."""
    keys: list[SortKey] = []
    obj = resolver.registry.objects[object_name]
    for i, item in enumerate(order_by or ()):
        path = f"orderBy[{i}]"
        if not isinstance(item, Mapping) or len(item) != 1:
            raise InvalidInput("invalid orderBy", [FieldProblem(path, 'expected one field and a direction, e.g. {"end_date": "ASC"}')])
        (name, direction), = item.items()
        field = obj.fields.get(name) or standard_field(name)
        if field is None:
            raise InvalidInput("invalid orderBy", [FieldProblem(path, f"unknown field '{name}' of {object_name}")])
        if not actor.policy.can_read_field(object_name, name):
            raise Forbidden("not allowed", [FieldProblem(path, f"you may not read {object_name}.{name}, so you cannot sort on it")])
        if field.type in UNSORTABLE:
            raise InvalidInput("invalid orderBy", [FieldProblem(path, f"{name} is a multi-select and cannot be sorted on")])
        if direction not in DIRECTIONS:
            raise InvalidInput("invalid orderBy", [FieldProblem(path, f"direction must be one of {', '.join(DIRECTIONS)}")])
        descending, nulls_first = DIRECTIONS[direction]
        keys.append(SortKey(name, field, resolver.column(object_name, field, table, path), descending, nulls_first))
    if not any(k.name == "id" for k in keys):
        keys.append(SortKey("id", STANDARD_FIELDS["id"], table.c.id, False, False))
    return keys


def fingerprint(keys: Sequence[SortKey]) -> str:
    spec = ",".join(f"{k.name}:{int(k.descending)}{int(k.nulls_first)}" for k in keys)
    return hashlib.sha1(spec.encode()).hexdigest()[:10]


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


_UNTAG: Mapping[str, Callable[[str], Any]] = {"t": datetime.fromisoformat, "d": date.fromisoformat, "n": Decimal}


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        (tag, text), = value.items()
        return _UNTAG[tag](text)
    return value


def encode_cursor(keys: Sequence[SortKey], values: Sequence[Any], signature: str | None = None) -> str:
    """`signature` is `fingerprint(keys)`, passed in when encoding a whole page of cursors."""
    payload = {"k": signature or fingerprint(keys), "v": [_tag(v) for v in values]}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(keys: Sequence[SortKey], cursor: str, path: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = [_untag(v) for v in payload["v"]]
        matches = payload["k"] == fingerprint(keys) and len(values) == len(keys)
    except (ValueError, KeyError, TypeError, binascii.Error):
        matches = False
    if not matches:
        raise InvalidInput("invalid cursor", [FieldProblem(path, "this cursor does not belong to this query and sort order")])
    return values


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.expression.is_(None) if value is None else key.expression == value


def _strictly_after(key: SortKey, value: Any) -> ColumnElement[bool]:
    if value is None:  # nulls sit at one end: non-nulls follow them only when nulls come first
        return key.expression.is_not(None) if key.nulls_first else false()
    beyond = key.expression < value if key.descending else key.expression > value
    return beyond if key.nulls_first or not key.nullable else or_(beyond, key.expression.is_(None))


def _bound(key: SortKey, value: Any) -> ColumnElement[bool]:
    """A condition implied by "after `value`" on the first key alone. Redundant in logic, it
    lets the database start an index scan at the cursor instead of at the first row (for blank
    values after the cursor, see `trellis.runtime.query.listing.fetch_page`)."""
    if value is None:
        return true() if key.nulls_first else key.expression.is_(None)
    reach = key.expression <= value if key.descending else key.expression >= value
    return reach if key.nulls_first or not key.nullable else or_(reach, key.expression.is_(None))


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after the position `values` in the order of `keys` (lexicographic)."""
    clauses = []
    for i, key in enumerate(keys):
        prefix = [_equal(k, v) for k, v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(and_(true(), *prefix, _strictly_after(key, values[i])))
    return and_(_bound(keys[0], values[0]), or_(false(), *clauses))
