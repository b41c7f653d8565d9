"""A metric's value for a period, grouped or not, with the asker's permissions, in one statement.

The numerator and the denominator are aggregates over the same rows (the object's records the
actor may read, in the period), each with its own condition, so both come from one
`SELECT group…, AGG(CASE WHEN numerator THEN value END), AGG(CASE WHEN denominator THEN …)`.
Conditions, values and groupings are formula-language expressions translated by `to_sql` (the
compiler filters and sorts use), with lookups joined once each. Sums of money stay Decimal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, literal, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from trellis.metadata.model import FieldType, localized
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from trellis.runtime.expressions import (
    CompiledExpression,
    EvaluationContext,
    NotExpressibleInSQL,
    compile_expression,
    to_sql,
)
from trellis.runtime.metrics.periods import Period, parse_period
from trellis.runtime.query.columns import STANDARD_FIELDS
from trellis.runtime.query.scope import visible

MAX_GROUPS = 1000
RATIO_PLACES = Decimal("0.000001")  # a ratio to six places; its numerator and denominator stay exact
MAX_PAGE = 200


@dataclass(frozen=True)
class Part:
    function: str
    value: CompiledExpression | None
    where: CompiledExpression | None


@dataclass(frozen=True)
class Metric:
    name: str
    label: Mapping[str, str]
    definition: Mapping[str, str]
    object: str
    period_field: str | None
    default_period: str
    numerator: Part
    denominator: Part | None
    format: str
    group_by: tuple[str, ...]


@dataclass(frozen=True)
class Figure:
    value: Decimal | None
    numerator: Decimal | int | None
    denominator: Decimal | int | None


@dataclass(frozen=True)
class MetricResult:
    metric: Metric
    period: Period
    label: str
    definition: str
    total: Figure
    group_by: str | None = None
    groups: list[tuple[Any, Figure]] = field(default_factory=list)


def compile_metric(name: str, document: Mapping[str, Any]) -> Metric:
    def part(spec: Mapping[str, Any]) -> Part:
        return Part(spec["function"], compile_expression(spec["value"]) if "value" in spec else None,
                    compile_expression(spec["where"]) if "where" in spec else None)

    label = document["x-label"]
    definition = document["definition"]
    return Metric(name, {"*": label} if isinstance(label, str) else dict(label),
                  {"*": definition} if isinstance(definition, str) else dict(definition), document["object"],
                  document.get("period_field"), document.get("default_period", "this_quarter" if document.get("period_field") else "all"),
                  part(document["numerator"]), part(document["denominator"]) if "denominator" in document else None,
                  document.get("format", "number"), tuple(document.get("group_by", ())))


def metric_named(metadata: Any, name: str) -> Metric:
    documents = metadata.documents("metric")
    if name not in documents:
        known = ", ".join(sorted(documents)) or "none"
        raise NotFound(f"no metric named '{name}' (metrics: {known})")
    return compile_metric(name, documents[name])


class _Query:
    """The tables, joins and translated expressions of one metric for one actor."""

    def __init__(self, registry: Any, metric: Metric, actor: Actor, context: EvaluationContext, dialect: str):
        self.registry = registry
        self.metric = metric
        self.actor = actor
        self.context = context
        self.dialect = dialect
        self.obj = registry.objects[metric.object]
        self.table = registry.tables[metric.object]
        self.joins: dict[str, tuple[FromClause, str]] = {}  # lookup -> (its alias, the object it points to)
        self.related: dict[str, tuple[dict[str, ColumnElement[Any]], dict[str, Any]]] = {}

    def columns(self, table: FromClause, object_name: str) -> dict[str, ColumnElement[Any]]:
        obj = self.registry.objects[object_name]
        found: dict[str, ColumnElement[Any]] = {name: table.c[name] for name in STANDARD_FIELDS}
        found.update({f.name: table.c[f.name] for f in obj.stored_fields})
        return found

    def sql(self, expression: CompiledExpression, path: str) -> ColumnElement[Any]:
        self._readable(expression, path)
        for lookup in expression.lookups:
            if lookup not in self.joins:
                target = self.obj.fields[lookup].ref
                alias = self.registry.tables[target].alias(f"j_{lookup}")
                self.joins[lookup] = (alias, target)
                self.related[lookup] = (self.columns(alias, target),
                                        {**STANDARD_FIELDS, **self.registry.objects[target].fields})
        try:
            return to_sql(expression, self.columns(self.table, self.metric.object), {**STANDARD_FIELDS, **self.obj.fields},
                          self.dialect, self.context, self.related)
        except NotExpressibleInSQL as error:
            raise InvalidInput("the metric cannot be computed", [FieldProblem(path, str(error))]) from None

    def _readable(self, expression: CompiledExpression, path: str) -> None:
        policy = self.actor.policy
        hidden = [n for n in expression.names if n in self.obj.fields and not policy.can_read_field(self.metric.object, n)]
        hidden += [f"{base}.{attr}" for base, attr in expression.attributes
                   if not policy.can_read_field(self.metric.object, base)
                   or not policy.can_read_field(self.obj.fields[base].ref or "", attr)]
        if hidden:
            raise Forbidden("not allowed", [FieldProblem(path, f"the metric reads {', '.join(sorted(hidden))}, "
                                                               "which you may not read")])

    def source(self) -> FromClause:
        """The object's table with each lookup joined only to rows the actor may read: a related
        record they may not read reads as blank (like a lookup filter, which does not match it),
        so groups and conditions never reveal it or count by it."""
        joined: FromClause = self.table
        for lookup, (alias, target) in self.joins.items():
            joined = joined.outerjoin(alias, (self.table.c[lookup] == alias.c.id) & visible(alias, self.actor, target))
        return joined

    def base(self, period: Period) -> ColumnElement[bool]:
        condition = visible(self.table, self.actor, self.metric.object)
        field_name = self.metric.period_field
        if field_name is None or period.start is None or period.end is None:
            return condition
        column = self.table.c[field_name]
        start: Any = period.start
        end: Any = period.end
        if self.obj.fields[field_name].type is FieldType.DATETIME:
            start = datetime.combine(period.start, time(), self.context.timezone)
            end = datetime.combine(period.end, time(), self.context.timezone)
        within: ColumnElement[bool] = condition & (column >= start) & (column < end)
        return within

    def measure(self, part: Part, path: str) -> ColumnElement[Any]:
        condition = self.sql(part.where, f"{path}.where") if part.where is not None else None
        if part.function == "count":
            if condition is None:
                return func.count()
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
        assert part.value is not None  # checked at publish
        value = self.sql(part.value, f"{path}.value")
        chosen: ColumnElement[Any] = value if condition is None else case((condition, value), else_=literal(None))
        measured = getattr(func, part.function)(chosen)
        return measured if part.function == "avg" else type_coerce(measured, value.type)


def compute_metric(conn: Connection, registry: Any, actor: Actor, metric: Metric, context: EvaluationContext,
                   period_text: str | None, group_by: str | None, locale: str) -> MetricResult:
    """The metric over the records `actor` may read, for the period (its default when None)."""
    period = parse_period(period_text or metric.default_period, context.now.astimezone(context.timezone).date())
    if group_by is not None:
        _check_grouping(metric, group_by)
    query = _Query(registry, metric, actor, context, conn.dialect.name)
    measures = [query.measure(metric.numerator, "numerator").label("n")]
    if metric.denominator is not None:
        measures.append(query.measure(metric.denominator, "denominator").label("d"))
    group = query.sql(compile_expression(group_by), "groupBy").label("g") if group_by else None
    base = query.base(period)
    statement = select(*([group] if group is not None else []), *measures).select_from(query.source()).where(base)
    label, definition = localized(metric.label, locale, metric.name), localized(metric.definition, locale, "")
    if group is None:
        row = conn.execute(statement).one()
        return MetricResult(metric, period, label, definition, _figure(metric, row.n, getattr(row, "d", None)))
    rows = conn.execute(statement.group_by(group).order_by(group.asc().nulls_last()).limit(MAX_GROUPS + 1)).all()
    if len(rows) > MAX_GROUPS:
        raise InvalidInput("too many groups", [FieldProblem("groupBy", f"more than {MAX_GROUPS} groups")])
    total = conn.execute(select(*measures).select_from(query.source()).where(base)).one()
    return MetricResult(metric, period, label, definition, _figure(metric, total.n, getattr(total, "d", None)),
                        group_by, [(row.g, _figure(metric, row.n, getattr(row, "d", None))) for row in rows])


def _figure(metric: Metric, numerator: Any, denominator: Any) -> Figure:
    numerator = _exact(numerator)
    denominator = _exact(denominator)
    if metric.denominator is None:
        return Figure(numerator, numerator, None)
    if numerator is None or not denominator:
        return Figure(None, numerator, denominator)
    return Figure((Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES), numerator, denominator)


def _exact(value: Any) -> Any:
    """Counts as int, amounts as Decimal (an average the database gave as float, through its text)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def drill_down(conn: Connection, registry: Any, actor: Actor, metric: Metric, context: EvaluationContext,
               period_text: str | None, side: str = "numerator", first: int = 50,
               after: str | None = None, group: tuple[str, Any] | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The records behind one side of the metric, by id; and whether more follow. `group`:
    (one of the metric's groupings, a key) narrows them to the records behind that group's
    figure (key None: the records the grouping leaves blank)."""
    if side not in ("numerator", "denominator") or (side == "denominator" and metric.denominator is None):
        raise InvalidInput("invalid side", [FieldProblem("side", "expected numerator" +
                                                                 (" or denominator" if metric.denominator else ""))])
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput("invalid first", [FieldProblem("first", f"expected 1 to {MAX_PAGE}; got {first}")])
    period = parse_period(period_text or metric.default_period, context.now.astimezone(context.timezone).date())
    query = _Query(registry, metric, actor, context, conn.dialect.name)
    part = metric.numerator if side == "numerator" else metric.denominator
    assert part is not None
    condition = query.base(period)
    if part.where is not None:
        condition = condition & query.sql(part.where, f"{side}.where")
    if group is not None:
        condition = condition & _in_group(query, metric, *group)
    if after:
        condition = condition & (query.table.c.id > after)
    readable = [c for c in query.columns(query.table, metric.object)
                if c in STANDARD_FIELDS or actor.policy.can_read_field(metric.object, c)]
    statement = (select(*(query.table.c[c] for c in readable)).select_from(query.source()).where(condition)
                 .order_by(query.table.c.id).limit(first + 1))
    rows = [dict(r) for r in conn.execute(statement).mappings()]
    return rows[:first], len(rows) > first


def _check_grouping(metric: Metric, group_by: str) -> None:
    if group_by not in metric.group_by:
        allowed = ", ".join(metric.group_by) or "nothing"
        raise InvalidInput("invalid groupBy", [FieldProblem("groupBy", f"{metric.name} may be grouped by {allowed}; "
                                                                       f"got '{group_by}'")])


def _in_group(query: _Query, metric: Metric, group_by: str, key: Any) -> ColumnElement[bool]:
    _check_grouping(metric, group_by)
    grouped = query.sql(compile_expression(group_by), "groupBy")
    return grouped.is_(None) if key is None else grouped == key


def metric_names(metadata: Any) -> Sequence[str]:
    return sorted(metadata.documents("metric"))
