"""Aggregates: count, sum, avg, min, max and count distinct, grouped by fields or date buckets.

Date buckets (day, week from Monday, month, quarter, year) are computed in the tenant's time
zone; on SQLite, which has no zone database, date-times are converted by a Python function the
engine registers (`trellis_local_date`), so the result is exact across DST changes too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Connection, Date, Double, cast, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from trellis.metadata.model import FieldDef, FieldType
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput
from trellis.runtime.query.columns import ColumnResolver, standard_field
from trellis.runtime.query.filters import FilterCompiler
from trellis.runtime.query.scope import visible
from trellis.runtime.values.coercion import rounded

BUCKETS = ("day", "week", "month", "quarter", "year")
FUNCTIONS = ("count", "sum", "avg", "min", "max", "count_distinct")
MAX_GROUPS = 10_000
_NUMERIC = {FieldType.INTEGER, FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT}
_ORDERABLE = _NUMERIC | {FieldType.DATE, FieldType.DATETIME, FieldType.STRING, FieldType.TEXT, FieldType.EMAIL,
                         FieldType.PHONE, FieldType.URL, FieldType.ENUM}


@dataclass(frozen=True)
class GroupBy:
    field: str
    bucket: str | None = None

    @property
    def key(self) -> str:
        return f"{self.field}_{self.bucket}" if self.bucket else self.field


@dataclass(frozen=True)
class Metric:
    function: str
    field: str | None = None


class _Aggregation:
    def __init__(self, resolver: ColumnResolver, actor: Actor, object_name: str):
        self.resolver = resolver
        self.actor = actor
        self.object_name = object_name
        self.table = resolver.registry.tables[object_name]

    def field(self, name: str, path: str) -> FieldDef:
        field = self.resolver.registry.objects[self.object_name].fields.get(name) or standard_field(name)
        if field is None:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"unknown field '{name}' of {self.object_name}")])
        if not self.actor.policy.can_read_field(self.object_name, name):
            raise Forbidden("not allowed", [FieldProblem(path, f"you may not read {self.object_name}.{name}")])
        return field

    def group_expression(self, group: GroupBy, path: str) -> ColumnElement[Any]:
        field = self.field(group.field, path)
        column = self.resolver.column(self.object_name, field, self.table, path)
        if field.type is FieldType.MULTI_ENUM:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, "cannot group by a multi-select")])
        if group.bucket is None:
            return column
        if group.bucket not in BUCKETS:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"bucket must be one of {', '.join(BUCKETS)}")])
        if field.type not in (FieldType.DATE, FieldType.DATETIME):
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"{group.field} is not a date; buckets need one")])
        return self.bucket(column, field.type, group.bucket)

    def bucket(self, column: ColumnElement[Any], field_type: FieldType, unit: str) -> ColumnElement[Any]:
        zone = self.resolver.context.timezone.key
        if self.resolver.dialect == "postgresql":
            local = func.timezone(zone, column) if field_type is FieldType.DATETIME else column
            return cast(func.date_trunc(unit, local), Date)
        day = func.trellis_local_date(column, zone) if field_type is FieldType.DATETIME else func.date(column)
        if unit == "day":
            return day
        if unit == "week":
            return func.date(day, "weekday 0", "-6 days")
        if unit == "month":
            return func.strftime("%Y-%m-01", day)
        if unit == "year":
            return func.strftime("%Y-01-01", day)
        quarter_month = (cast(func.strftime("%m", day), BigInteger) - 1) // 3 * 3 + 1
        return func.printf("%s-%02d-01", func.strftime("%Y", day), quarter_month)

    def metric(self, metric: Metric, path: str) -> tuple[ColumnElement[Any], FieldDef | None]:
        if metric.function not in FUNCTIONS:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"function must be one of {', '.join(FUNCTIONS)}")])
        if metric.function == "count":
            return func.count(), None
        if metric.field is None:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"{metric.function} needs a field")])
        field = self.field(metric.field, path)
        column = self.resolver.column(self.object_name, field, self.table, path)
        allowed = {"sum": _NUMERIC, "avg": _NUMERIC, "min": _ORDERABLE, "max": _ORDERABLE}.get(metric.function)
        if allowed is not None and field.type not in allowed:
            raise InvalidInput("invalid aggregate", [FieldProblem(path, f"{metric.function} does not apply to "
                                                                         f"{field.type.value} field {field.name}")])
        if metric.function == "count_distinct":
            if field.type is FieldType.MULTI_ENUM:
                raise InvalidInput("invalid aggregate", [FieldProblem(path, "cannot count distinct multi-selects")])
            return func.count(column.distinct()), None
        if metric.function == "avg" and field.type in (FieldType.INTEGER, FieldType.NUMBER):
            return type_coerce(func.avg(column), Double()), field
        return type_coerce(getattr(func, metric.function)(column), column.type), field


def _normalize(function: str, field: FieldDef | None, value: Any) -> Any:
    if value is None or field is None:
        return int(value) if function in ("count", "count_distinct") and value is not None else value
    if function == "sum" and field.type is FieldType.INTEGER:
        return int(value)
    if function == "avg" and field.type in (FieldType.INTEGER, FieldType.NUMBER):
        return float(value)
    if field.type.is_decimal and function == "avg":  # an average of amounts is an amount, as stored
        return rounded(field, value)
    if field.type.is_decimal and not isinstance(value, Decimal):
        return Decimal(str(value))
    return value


def _bucket_value(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) else value


def aggregate(conn: Connection, resolver: ColumnResolver, actor: Actor, object_name: str,
              where: Mapping[str, Any] | None, group_by: Sequence[GroupBy], metrics: Sequence[Metric]) -> list[dict[str, Any]]:
    """One row per group: `{"group": {key: value}, "count": n, "sum": {field: v}, ...}`."""
    agg = _Aggregation(resolver, actor, object_name)
    groups = [agg.group_expression(g, f"groupBy[{i}]").label(f"g{i}") for i, g in enumerate(group_by)]
    measured = [agg.metric(m, f"metrics[{i}]") for i, m in enumerate(metrics)]
    condition = visible(agg.table, actor, object_name) & FilterCompiler(resolver, actor).compile(object_name, where)
    statement = (select(*groups, *(e.label(f"m{i}") for i, (e, _) in enumerate(measured)))
                 .select_from(agg.table).where(condition))
    if groups:
        statement = statement.group_by(*groups).order_by(*groups).limit(MAX_GROUPS + 1)
    rows = conn.execute(statement).all()
    if len(rows) > MAX_GROUPS:
        raise InvalidInput("too many groups", [FieldProblem("groupBy", f"more than {MAX_GROUPS} groups; filter first")])
    results = []
    for row in rows:
        out: dict[str, Any] = {"group": {g.key: (_bucket_value(row[i]) if g.bucket else row[i])
                                         for i, g in enumerate(group_by)}}
        for i, (metric, (_, field)) in enumerate(zip(metrics, measured, strict=True)):
            value = _normalize(metric.function, field, row[len(groups) + i])
            if metric.field is None:
                out[metric.function] = value
            else:
                out.setdefault(metric.function, {})[metric.field] = value
        results.append(out)
    return results

