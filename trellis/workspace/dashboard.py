"""The KPI dashboard: the metrics of the tenant's release, for the signed-in user, with a period
picker, a trend per KPI, a breakdown and a drill-down behind every number.

Every figure is the metrics service's (`trellis.runtime.metrics.service`, which GraphQL's
`metric(...)` and `trellis metrics show` use too), asked with the signed-in user's actor, so a
rep's numbers are those of the records they may read. Two kinds of KPI:

- *in the period*: a metric counted over a date field (renewal rate, GRR, NRR, churn) follows
  the picker; its trend is the same metric over the last `TREND` periods;
- *as of today*: a metric whose own period is rolling (`next_30_days`) or everything (`all`,
  receivables) is shown for that period; the picker does not move it.

A number links to `/app/dashboard/records`, the records behind it (`service.behind`, the same
conditions as the figure, narrowed to one group for a breakdown cell). Chart data goes to the
page as JSON in a `<script type="application/json">`, drawn by `static/dashboard.js` with the
vendored ECharts (no inline script: the CSP allows scripts from the site only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from trellis.designer.web import Page
from trellis.metadata.definitions import localized
from trellis.runtime.access import Scope
from trellis.runtime.errors import Forbidden, InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.metrics.compute import Metric, MetricResult, metric_named, metric_names
from trellis.runtime.metrics.service import answer as metric_answer
from trellis.runtime.metrics.service import behind
from trellis.runtime.records.csv_io import SYSTEM_LABELS
from trellis.runtime.records.service import RecordsService
from trellis.workspace.dashboard_periods import UNITS, Span, read_span
from trellis.workspace.fields import ObjectView, user_names
from trellis.workspace.web import app_base, members, presenter, records, refuse

TREND = 6  # periods in a trend chart, the chosen one last
DRILL_PAGE = 50
OWNER = "owner_id"


@dataclass(frozen=True)
class Number:
    text: str
    href: str | None = None


@dataclass
class Kpi:
    """One metric's card: its figure, links behind it and (in the period) its trend."""

    name: str
    label: str
    definition: str
    value: Number
    numerator: Number | None = None
    denominator: Number | None = None
    trend: dict[str, Any] | None = None
    problem: str | None = None


@dataclass
class Breakdown:
    """One grouping's table: a row per group, a column per KPI that allows the grouping."""

    by: str
    label: str
    kpis: list[Kpi]
    rows: list[tuple[str, dict[str, Number]]] = field(default_factory=list)


def follows_picker(metric: Metric) -> bool:
    """Whether the metric is counted over a date field for a chosen period (else: as of today)."""
    rolling = metric.default_period == "all" or metric.default_period.startswith("next_")
    return metric.period_field is not None and not rolling


def shown(style: str, value: Decimal | int | None) -> str:
    """A figure for people: percents to one place, money to cents with thousands separated."""
    if value is None:
        return "—"
    if style == "percent":
        return f"{Decimal(value) * 100:.1f}%"
    if style == "money":
        return f"{Decimal(value):,.2f}"
    return f"{value:,}"


class Dashboard:
    """The figures of one dashboard page for one user."""

    def __init__(self, page: Page, service: RecordsService):
        assert page.actor is not None
        self.page = page
        self.service = service
        self.actor = page.actor
        self.app = app_base(page)
        metadata = service.registry.metadata
        named = [metric_named(metadata, name) for name in metric_names(metadata)]
        # a KPI over records one may not read at all is not on the page (as such an object's list is not);
        # one over a field one may not read says so. Those in the period first.
        readable = [m for m in named if self.actor.policy.scope(m.object, "read") is not Scope.NONE]
        self.metrics = sorted(readable, key=lambda m: not follows_picker(m))

    def drill(self, metric: Metric, period: str | None, side: str = "numerator",
              group: tuple[str, Any] | None = None) -> str:
        query: dict[str, str] = {"metric": metric.name, "side": side}
        if period is not None:
            query["period"] = period
        if group is not None:
            query["by"] = group[0]
            if group[1] is not None:
                query["key"] = str(group[1])
        return f"{self.app}/dashboard/records?{urlencode(query)}"

    def answer(self, metric: Metric, period: str | None, group_by: str | None = None) -> MetricResult | str:
        """The metric's result, or why this user gets none (a field they may not read)."""
        try:
            return metric_answer(self.service, self.actor, metric.name, period, group_by)
        except (Forbidden, InvalidInput) as problem:
            return "; ".join(p.message for p in problem.problems) or str(problem)

    def kpi(self, metric: Metric, period: str | None, group: tuple[str, Any] | None = None,
            result: MetricResult | str | None = None) -> Kpi:
        found = self.answer(metric, period) if result is None else result
        label = localized(metric.label, self.page.t.language, metric.name)
        definition = localized(metric.definition, self.page.t.language, "")
        if isinstance(found, str):
            return Kpi(metric.name, label, definition, Number("—"), problem=found)
        return self.card(metric, label, definition, found.total, period, group)

    def card(self, metric: Metric, label: str, definition: str, figure: Any, period: str | None,
             group: tuple[str, Any] | None) -> Kpi:
        parts = "money" if metric.numerator.function == "sum" else "number"  # a ratio's sums are amounts
        value = Number(shown(metric.format, figure.value), self.drill(metric, period, "numerator", group))
        if metric.denominator is None:
            return Kpi(metric.name, label, definition, value)
        return Kpi(metric.name, label, definition, value,
                   Number(shown(parts, figure.numerator), self.drill(metric, period, "numerator", group)),
                   Number(shown(parts, figure.denominator), self.drill(metric, period, "denominator", group)))

    def trend(self, metric: Metric, span: Span) -> dict[str, Any]:
        """The chart's data: the metric over the last TREND spans (None where nothing divides)."""
        spans = span.last(TREND)
        values: list[float | None] = []
        for each in spans:
            found = self.answer(metric, each.text)
            value = None if isinstance(found, str) else found.total.value
            values.append(None if value is None else float(value * 100 if metric.format == "percent" else value))
        return {"labels": [span_label(self.page, s) for s in spans], "values": values, "format": metric.format,
                "links": [self.drill(metric, s.text) for s in spans], "current": len(spans) - 1}

    def breakdown(self, by: str, span: Span) -> Breakdown:
        """Every KPI that may be grouped `by`, a row per group, each cell linked to its records."""
        breakdown = Breakdown(by, grouping_label(self.service, self.metrics, by, self.page.t.language), [])
        cells: dict[Any, dict[str, Number]] = {}
        for metric in self.metrics:
            if by not in metric.group_by:
                continue
            period = span.text if follows_picker(metric) else None
            found = self.answer(metric, period, by)
            label = localized(metric.label, self.page.t.language, metric.name)
            breakdown.kpis.append(Kpi(metric.name, label, "", Number(""), problem=found if isinstance(found, str) else None))
            if isinstance(found, str):
                continue
            for key, figure in found.groups:
                cells.setdefault(key, {})[metric.name] = self.card(metric, label, "", figure, period, (by, key)).value
        names = user_names(self.service.db, [k for k in cells if k]) if by == OWNER else {}
        blank = self.page.t.t("ws.dash.blank")
        ordered = sorted(cells, key=lambda k: (k is None, str(names.get(k, k))))
        breakdown.rows = [(blank if key is None else str(names.get(key, key)), cells[key]) for key in ordered]
        return breakdown

    def groupings(self) -> list[str]:
        """The groupings some metric allows, in the order the metrics name them."""
        seen: dict[str, None] = {}
        for metric in self.metrics:
            seen.update(dict.fromkeys(metric.group_by))
        return list(seen)


def grouping_label(service: RecordsService, metrics: Sequence[Metric], by: str, language: str) -> str:
    """`owner_id` → Owner; `account.tier` → the tier field's label (of the account object)."""
    if by in SYSTEM_LABELS:
        return localized(SYSTEM_LABELS[by], language, by)
    objects = service.registry.objects
    obj = next((objects[m.object] for m in metrics if by in m.group_by and m.object in objects), None)
    base, _, attribute = by.partition(".")
    found = obj.fields.get(base) if obj is not None else None
    if found is not None and attribute and found.ref is not None and found.ref in objects:
        target = objects[found.ref].fields.get(attribute)
        return localized(target.label, language, by) if target is not None else by
    return localized(found.label, language, by) if found is not None else by


def span_label(page: Page, span: Span) -> str:
    if span.unit == "year":
        return page.t.t("ws.dash.year", year=span.year)
    key = "ws.dash.quarter" if span.unit == "quarter" else "ws.dash.month"
    return page.t.t(key, year=span.year, index=span.index)


@members
def dashboard_page(page: Page) -> Response:
    service = records(page)
    board = Dashboard(page, service)
    query = page.request.query_params
    groupings = board.groupings()
    by = query.get("by") or (groupings[0] if groupings else "")
    context: dict[str, Any] = {"app": board.app, "groupings": [(g, grouping_label(service, board.metrics, g, page.t.language))
                                                              for g in groupings], "by": by, "units": UNITS}
    try:
        span = read_span(query.get("period"), service.context().today)
    except InvalidInput as problem:
        return _refused(page, context, problem, "period")
    context["span"] = span
    context["picker"] = _picker(page, span, by)
    if groupings and by not in groupings:
        bad = InvalidInput("invalid by", [])
        context["by"] = groupings[0]
        return _refused(page, context, bad, "by", page.t.t("ws.dash.bad_by", by=by[:40], allowed=", ".join(groupings)))
    periodic = [m for m in board.metrics if follows_picker(m)]
    today = [m for m in board.metrics if not follows_picker(m)]
    in_period = [board.kpi(m, span.text) for m in periodic]
    for kpi, metric in zip(in_period, periodic, strict=True):
        if kpi.problem is None:
            kpi.trend = board.trend(metric, span)
    charts = {k.name: k.trend for k in in_period if k.trend is not None}
    return page.render("dashboard.html", {
        **context, "in_period": in_period, "as_of_today": [board.kpi(m, None) for m in today],
        "breakdown": board.breakdown(by, span) if by else None, "charts": charts})


def _picker(page: Page, span: Span, by: str) -> dict[str, Any]:
    """The picker's links: the previous and next span, this span as each unit."""
    def to(target: Span) -> str:
        return f"{app_base(page)}/dashboard?{urlencode({'period': target.text, 'by': by})}"

    return {"label": span_label(page, span), "previous": to(span.shift(-1)), "next": to(span.shift(1)),
            "units": [(unit, page.t.t(f"ws.dash.unit_{unit}"), to(span.as_unit(unit)), unit == span.unit) for unit in UNITS]}


def _refused(page: Page, context: Mapping[str, Any], problem: RuntimeProblem, name: str,
             message: str | None = None) -> Response:
    detail = message or "; ".join(p.message for p in problem.problems) or str(problem)
    return page.render("dashboard.html", {**context, "error": page.t.t("ws.dash.bad_input", name=name, detail=detail),
                                          "in_period": [], "as_of_today": [], "breakdown": None, "charts": {}}, 400)


@members
def drill_down_page(page: Page) -> Response:
    """The records behind one number: one side of a metric, for a period, maybe for one group."""
    assert page.actor is not None
    service = records(page)
    query = page.request.query_params
    name, side, by = query.get("metric", ""), query.get("side", "numerator"), query.get("by") or None
    group = (by, query.get("key")) if by else None
    period = query.get("period") or None
    try:
        metric = metric_named(service.registry.metadata, name)
        found, more = behind(service, page.actor, name, period, side, DRILL_PAGE, query.get("after") or None, group)
    except NotFound as problem:
        return refuse(page, 404, str(problem))
    except Forbidden as problem:
        return refuse(page, 403, "; ".join(p.message for p in problem.problems) or str(problem))
    except InvalidInput as problem:
        detail = "; ".join(p.message for p in problem.problems) or str(problem)
        return refuse(page, 400, page.t.t("ws.dash.bad_input", name=problem.problems[0].path if problem.problems
                                          else "query", detail=detail))
    view = ObjectView(service.registry.objects[metric.object], page.actor, page.t.language)
    wanted = [*view.default_columns, *([metric.period_field] if metric.period_field else []), OWNER]
    columns = [c for n in dict.fromkeys(wanted) if (c := view.column(n)) is not None]
    rows = presenter(page, service).rows(view, columns, found)
    board = Dashboard(page, service)
    after = {**dict(query), "after": found[-1]["id"]} if more and found else None
    group_text = None
    if group is not None:
        key = group[1]
        shown_key = user_names(service.db, [key]).get(key, key) if by == OWNER and key else key
        group_text = f"{grouping_label(service, board.metrics, group[0], page.t.language)}: " \
                     f"{shown_key if shown_key is not None else page.t.t('ws.dash.blank')}"
    return page.render("dashboard_records.html", {
        "app": board.app, "metric": metric, "label": localized(metric.label, page.t.language, metric.name),
        "definition": localized(metric.definition, page.t.language, ""),
        "period": _period_label(page, period or metric.default_period), "side": side, "group": group_text, "view": view,
        "columns": columns, "rows": list(zip([r["id"] for r in found], rows, strict=True)),
        "next": f"{board.app}/dashboard/records?{urlencode(after)}" if after else None,
        "back": f"{board.app}/dashboard"})


def _period_label(page: Page, period: str) -> str:
    """A month, quarter or year as the picker names it; any other period as the metric's text."""
    try:
        return span_label(page, read_span(period, date.min))
    except InvalidInput:
        return period
