"""Roll-up fields (`x-rollup`): a parent's count/sum/min/max/avg over its child rows.

One correlated UPDATE recomputes a roll-up for a set of parents (or all of them), so a write
costs one statement per roll-up it feeds, and the bulk recompute for windows that move with
time is the same statement without the id list. Sums, minimums and maximums of a column stored
like the roll-up stay in its exact stored form; only averages pass through floating point.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from trellis.metadata.model import FieldType, ObjectDef
from trellis.runtime.compiled import RollupDef, rollup_def
from trellis.runtime.expressions import EvaluationContext, to_sql
from trellis.runtime.query.columns import STANDARD_FIELDS
from trellis.runtime.storage.convert import as_value, is_numeric, stored_as
from trellis.runtime.storage.tables import storage_type

EMPTY_IS_ZERO = ("count", "sum")


def _aggregate(rollup: RollupDef, child_columns: Any, registry: Any, dialect: str) -> ColumnElement[Any]:
    target = storage_type(rollup.field)
    if rollup.function == "count":
        return func.count() if target == "bigint" else stored_as(func.count(), target, dialect)
    assert rollup.child_field is not None
    source = storage_type(registry.objects[rollup.child].fields[rollup.child_field])
    column = child_columns[rollup.child_field]
    if rollup.function != "avg" and (source == target or not is_numeric(source)):
        exact: ColumnElement[Any] = getattr(func, rollup.function)(column)  # in the stored form
        return exact
    converted: ColumnElement[Any] = getattr(func, rollup.function)(as_value(column, source, dialect))
    return stored_as(converted, target, dialect)


def recompute(conn: Connection, registry: Any, rollup: RollupDef, parent_ids: Collection[str] | None,
              context: EvaluationContext) -> None:
    """Set `rollup.field` of the given parents (all parents when None) from their children."""
    if parent_ids is not None and not parent_ids:
        return
    dialect = conn.dialect.name
    parent = registry.tables[rollup.parent]
    child = registry.tables[rollup.child].alias("child")
    condition = (child.c[rollup.via] == parent.c.id) & child.c.deleted_at.is_(None)
    if rollup.filter is not None:
        child_obj = registry.objects[rollup.child]
        columns = {name: child.c[name] for name in STANDARD_FIELDS}
        columns.update({f.name: child.c[f.name] for f in child_obj.stored_fields})
        condition &= to_sql(rollup.filter, columns, {**STANDARD_FIELDS, **child_obj.fields}, dialect, context)
    if rollup.window_field is not None and rollup.window_days is not None:
        window_type = registry.objects[rollup.child].fields[rollup.window_field].type
        start = context.now - timedelta(days=rollup.window_days)
        since = start.astimezone(context.timezone).date() if window_type is FieldType.DATE else start
        condition &= child.c[rollup.window_field] >= since
    value: ColumnElement[Any] = select(_aggregate(rollup, child.c, registry, dialect)).where(condition).scalar_subquery()
    if rollup.function in EMPTY_IS_ZERO:
        value = func.coalesce(value, 0)
    statement = update(parent).values({rollup.field.name: value})
    if parent_ids is not None:
        statement = statement.where(parent.c.id.in_(sorted(parent_ids)))
    conn.execute(statement)


@dataclass(frozen=True)
class _Storage:
    """What `recompute` reads of a registry, for a release being published (no registry yet)."""

    objects: Mapping[str, ObjectDef]
    tables: Mapping[str, Table]


def fill(conn: Connection, objects: Mapping[str, ObjectDef], tables: Mapping[str, Table],
         fields: Collection[tuple[str, str]], context: EvaluationContext) -> None:
    """Compute roll-ups a publish adds or redefines, for every record, inside the publish."""
    storage = _Storage(objects, tables)
    for object_name, field_name in fields:
        recompute(conn, storage, rollup_def(object_name, objects[object_name].fields[field_name]), None, context)
