"""A model's aggregates of related records for one batch of scored records, set-based.

Aggregates over the same related rows (same object, lookup, condition and window) share one
`SELECT via, agg1, agg2, … GROUP BY via`; a `latest` aggregate is one statement ranking the
related rows per record with ROW_NUMBER(). So a batch costs one statement per group of related
rows, whatever its size, and never a statement per record.

As of a past date (`as_of=True`, the context's clock set to that day's end: the backtest), each
aggregate counts only the related rows its `date_field` dates on or before that day, its window
ending there; an aggregate without a `date_field` cannot be dated and is left blank (`undated`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, func, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from trellis.metadata.model import FieldType
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.expressions import CompiledExpression, EvaluationContext, NotExpressibleInSQL, to_sql
from trellis.runtime.query.columns import STANDARD_FIELDS
from trellis.runtime.scores.model import Aggregate

Values = dict[str, dict[str, Any]]  # aggregate name -> record id -> value


class BatchAggregates:
    """Computes a model's aggregates over one registry, for batch after batch of records."""

    def __init__(self, registry: Any, aggregates: Sequence[Aggregate], dialect: str, context: EvaluationContext,
                 as_of: bool = False):
        self.registry = registry
        self.dialect = dialect
        self.context = context
        self.as_of = as_of
        self.undated = tuple(a.name for a in aggregates if as_of and a.date_field is None)
        self.groups = _groups([a for a in aggregates if a.name not in self.undated], as_of)

    def statements(self) -> int:
        """How many statements one batch costs."""
        return len(self.groups)

    def compute(self, conn: Connection, record_ids: Collection[str]) -> Values:
        values: Values = {}
        for group in self.groups:
            for aggregate, found in zip(group, self._run(conn, group, record_ids), strict=True):
                # no related rows: a count is 0, anything else is blank
                values[aggregate.name] = {i: found.get(i, 0) for i in record_ids} \
                    if aggregate.function == "count" else found
        for name in self.undated:
            values[name] = {}
        return values

    def _run(self, conn: Connection, group: Sequence[Aggregate], record_ids: Collection[str]) -> list[dict[str, Any]]:
        first = group[0]
        child = self.registry.tables[first.object].alias("related")
        condition = child.c[first.via].in_(sorted(record_ids)) & child.c.deleted_at.is_(None)
        if first.where is not None:
            condition &= self._sql(first, first.where, child, "where")
        if first.within_days is not None and first.date_field is not None:
            condition &= child.c[first.date_field] >= self._since(first)
        if self.as_of and first.date_field is not None:
            condition &= child.c[first.date_field] <= self._until(first)
        via = child.c[first.via]
        if first.function == "latest":
            assert first.value is not None and first.date_field is not None  # checked at publish
            rank = func.row_number().over(partition_by=via, order_by=(child.c[first.date_field].desc(), child.c.id.desc()))
            ranked = select(via.label("via"), self._sql(first, first.value, child, "value").label("v"),
                            rank.label("rank")).where(condition).subquery()
            rows = conn.execute(select(ranked.c.via, ranked.c.v).where(ranked.c.rank == 1)).all()
            return [{row[0]: row[1] for row in rows}]
        columns = [self._measure(a, child).label(f"m{i}") for i, a in enumerate(group)]
        rows = conn.execute(select(via, *columns).where(condition).group_by(via)).all()
        return [{row[0]: row[i + 1] for row in rows} for i in range(len(group))]

    def _measure(self, aggregate: Aggregate, child: FromClause) -> ColumnElement[Any]:
        if aggregate.function == "count":
            return func.count()
        assert aggregate.value is not None  # checked at publish
        value = self._sql(aggregate, aggregate.value, child, "value")
        measured: ColumnElement[Any] = getattr(func, aggregate.function)(value)
        # sum/min/max read back as the value's own type, so amounts stay exact; avg as the database gives it
        return measured if aggregate.function == "avg" else type_coerce(measured, value.type)

    def _sql(self, aggregate: Aggregate, expression: CompiledExpression, child: FromClause,
             key: str) -> ColumnElement[Any]:
        obj = self.registry.objects[aggregate.object]
        columns = {name: child.c[name] for name in STANDARD_FIELDS}
        columns.update({f.name: child.c[f.name] for f in obj.stored_fields})
        try:
            return to_sql(expression, columns, {**STANDARD_FIELDS, **obj.fields}, self.dialect, self.context)
        except NotExpressibleInSQL as error:
            raise InvalidInput("the score model cannot run", [
                FieldProblem(f"aggregates.{aggregate.name}.{key}", str(error))]) from None

    def _since(self, aggregate: Aggregate) -> Any:
        assert aggregate.date_field is not None and aggregate.within_days is not None
        start = self.context.now - timedelta(days=aggregate.within_days)
        field = self.registry.objects[aggregate.object].fields[aggregate.date_field]
        return start.astimezone(self.context.timezone).date() if field.type is FieldType.DATE else start


    def _until(self, aggregate: Aggregate) -> Any:
        """The last moment (or day) of the as-of date: the context's clock."""
        assert aggregate.date_field is not None
        field = self.registry.objects[aggregate.object].fields[aggregate.date_field]
        return self.context.now.astimezone(self.context.timezone).date() if field.type is FieldType.DATE \
            else self.context.now


def _groups(aggregates: Sequence[Aggregate], as_of: bool = False) -> list[list[Aggregate]]:
    """Aggregates that read the same related rows, together; each `latest` on its own (as of a
    date, the date field bounds every aggregate's rows, so it is part of what they share)."""
    groups: dict[tuple[Any, ...], list[Aggregate]] = {}
    alone: list[list[Aggregate]] = []
    for aggregate in aggregates:
        if aggregate.function == "latest":
            alone.append([aggregate])
            continue
        key = (aggregate.object, aggregate.via, aggregate.where.source if aggregate.where else None,
               aggregate.date_field if aggregate.within_days or as_of else None, aggregate.within_days)
        groups.setdefault(key, []).append(aggregate)
    return [*groups.values(), *alone]
