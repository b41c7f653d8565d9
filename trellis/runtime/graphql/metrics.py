"""Metrics in every tenant schema: `metric(name, period, groupBy)` with a `drillDown` connection.

The value, numerator and denominator over the records the caller may read (a rep sees their own
numbers), the period actually used, the definition in the caller's language, the groups when
asked, and the records behind either side, a page at a time; computed by
`trellis.runtime.metrics.compute` in the thread pool.
"""

from __future__ import annotations

import json
from typing import Any

from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from trellis.runtime.graphql.inbox import InboxFields, PlatformFields
from trellis.runtime.graphql.resolvers import _call, context, given
from trellis.runtime.metrics.compute import Figure, MetricResult
from trellis.runtime.metrics.service import DEFAULT_PAGE, answer, behind

_HIDDEN = "_request"  # the key under which a result remembers how it was asked, for drillDown


def _figure(figure: Figure) -> dict[str, Any]:
    return {"value": figure.value, "numerator": figure.numerator, "denominator": figure.denominator}


async def metric(root: Any, info: Info, name: str, period: str | None = None,
                 group_by: str | None = None) -> dict[str, Any]:
    ctx = context(info)
    period, group_by = given(period), given(group_by)
    found: MetricResult = await _call(answer, ctx.records, ctx.actor, name, period, group_by)
    return {
        "name": name, "label": found.label, "definition": found.definition, "format": found.metric.format,
        "period": found.period.text, "period_start": found.period.start, "period_end": found.period.end,
        **_figure(found.total), "group_by": found.group_by,
        "groups": [{"key": None if key is None else str(key), **_figure(figure)} for key, figure in found.groups],
        _HIDDEN: (name, found.period.text)}


async def drill_down(root: dict[str, Any], info: Info, side: str = "numerator", first: int = DEFAULT_PAGE,
                     after: str | None = None) -> dict[str, Any]:
    ctx = context(info)
    name, period = root[_HIDDEN]
    rows, more = await _call(behind, ctx.records, ctx.actor, name, period, side, first,
                             given(after))
    nodes = [{"id": row["id"], "values": json.dumps(row, ensure_ascii=False, default=str)} for row in rows]
    return {"nodes": nodes, "page_info": {"has_next_page": more, "has_previous_page": after not in (None, UNSET),
                                          "start_cursor": rows[0]["id"] if rows else None,
                                          "end_cursor": rows[-1]["id"] if rows else None}}


class MetricFields(PlatformFields):
    """The metric types and the root field, named beside the inbox's."""

    def __init__(self, platform: InboxFields):
        self.platform = platform
        maker = platform.maker
        f = maker.field
        numbers = [f("value", "value", "Decimal | None", description="numerator ÷ denominator (or the numerator "
                                                                     "alone); null when the denominator is 0."),
                   f("numerator", "numerator", "Decimal | None"), f("denominator", "denominator", "Decimal | None")]
        self.group = maker.object_type(platform._type("MetricGroup"), [f("key", "key", "str | None"), *numbers],
                                       "The metric for one group.").__name__
        self.record = maker.object_type(platform._type("MetricRecord"), [
            f("id", "id", "ID"), f("values", "values", "str", description="The fields the caller may read, as JSON.")],
            "A record behind a metric.").__name__
        self.connection = maker.object_type(platform._type("MetricRecordConnection"), [
            f("nodes", "nodes", f"list[{self.record}]"), f("page_info", "pageInfo", "PageInfo")],
            "A page of the records behind a metric, by id.").__name__
        drill = f("drillDown", "drillDown", self.connection, resolver=drill_down,
                  description="The records behind the numerator (or `side: \"denominator\"`), a page at a time.")
        drill.arguments = [StrawberryArgument(python_name=p, graphql_name=g, default=d,
                                              type_annotation=maker.annotation(k))
                           for p, g, k, d in (("side", "side", "str", "numerator"), ("first", "first", "int", DEFAULT_PAGE),
                                              ("after", "after", "str | None", UNSET))]
        self.result = maker.object_type(platform._type("MetricResult"), [
            f("name", "name", "str"), f("label", "label", "str"),
            f("definition", "definition", "str", description="What the number means, in words."),
            f("format", "format", "str", description="number, money or percent"),
            f("period", "period", "str"), f("period_start", "periodStart", "Date | None"),
            f("period_end", "periodEnd", "Date | None", description="The day after the period (exclusive)."),
            *numbers, f("group_by", "groupBy", "str | None"), f("groups", "groups", f"list[{self.group}]"), drill],
            "A KPI over the records the caller may read.").__name__

    def query_fields(self) -> list[StrawberryField]:
        return [self.platform._field("metric", self.result, metric, [
            ("name", "name", "str", UNSET), ("period", "period", "str | None", UNSET),
            ("group_by", "groupBy", "str | None", UNSET)],
            "A metric for a period (2026-Q3, 2026-11, this_quarter, next_30_days, 2026-01-01..2026-03-31, all; "
            "its default when left out), optionally grouped by one of its groupings.")]
