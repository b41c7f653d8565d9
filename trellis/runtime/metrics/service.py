"""Metrics for a caller of the records service: the entry points GraphQL and the CLI share."""

from __future__ import annotations

from typing import Any

from trellis.runtime.access import Actor
from trellis.runtime.metrics.compute import MetricResult, compute_metric, drill_down, metric_named
from trellis.runtime.records.service import RecordsService

DEFAULT_PAGE = 50


def answer(records: RecordsService, actor: Actor, name: str, period: str | None = None,
           group_by: str | None = None) -> MetricResult:
    """Metric `name` of the current release, over what `actor` may read."""
    metric = metric_named(records.registry.metadata, name)
    context = records.context()
    with records.db.read() as conn:
        return compute_metric(conn, records.registry, actor, metric, context, period, group_by, records.locale)


def behind(records: RecordsService, actor: Actor, name: str, period: str | None, side: str = "numerator",
           first: int = DEFAULT_PAGE, after: str | None = None,
           group: tuple[str, Any] | None = None) -> tuple[list[dict[str, Any]], bool]:
    """A page of the records behind one side of metric `name` (of one group), and whether more follow."""
    metric = metric_named(records.registry.metadata, name)
    context = records.context()
    with records.db.read() as conn:
        return drill_down(conn, records.registry, actor, metric, context, period, side, first, after, group)
