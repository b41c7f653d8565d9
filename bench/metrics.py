"""metrics: each renewal KPI over `sizes.rows // 10` contracts (100,000 at full size).

Contracts ending over two years (end_date indexed), statuses renewed / expired / terminated /
active, amounts and renewed amounts with expansions and contractions, ten owners. Each KPI is
computed by `compute_metric` (the path GraphQL's `metric` takes: numerator and denominator in
one statement through the query compiler, as the system) for last year, against the SELECT one
would write by hand for the same number in the same run; the two must agree. Target ≤ 1.5×.
The plan of each Trellis statement is printed after the table.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, event, func, select

from bench.add_field import settle
from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, compare
from bench.scores import _chunks, _standard
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.runtime.access import Actor
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.metrics.compute import compute_metric, metric_named
from trellis.runtime.services import TenantServices

NAME = "metrics"
TENANT = "metrics"
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
PERIOD = "2025-06-01..2026-05-31"
START, END = date(2025, 6, 1), date(2026, 6, 1)
DECIDED = ("renewed", "expired", "terminated")
CONTRACT = {"type": "object", "required": ["name"], "x-index": [["end_date"]], "properties": {
    "name": {"type": "string"}, "status": {"type": "string", "enum": ["active", *DECIDED]},
    "end_date": {"type": "string", "format": "date"}, "amount": {"type": "number", "x-kind": "currency"},
    "renewed_amount": {"type": "number", "x-kind": "currency"}}}
WHERE_DECIDED = "status in ['renewed', 'expired', 'terminated']"


def _ratio(numerator: dict[str, Any], denominator: dict[str, Any] | None = None,
           period_field: str = "end_date") -> dict[str, Any]:
    doc = {"x-label": "k", "definition": "k", "object": "contract", "period_field": period_field,
           "numerator": numerator}
    return {**doc, "denominator": denominator} if denominator else doc


METRICS = {
    "renewal_rate": _ratio({"function": "count", "where": "status == 'renewed'"},
                           {"function": "count", "where": WHERE_DECIDED}),
    "renewal_value": _ratio({"function": "sum", "value": "amount", "where": "status == 'renewed'"},
                            {"function": "sum", "value": "amount", "where": WHERE_DECIDED}),
    "grr": _ratio({"function": "sum", "value": "min(coalesce(renewed_amount, 0), amount)", "where": WHERE_DECIDED},
                  {"function": "sum", "value": "amount", "where": WHERE_DECIDED}),
    "nrr": _ratio({"function": "sum", "value": "coalesce(renewed_amount, 0)", "where": WHERE_DECIDED},
                  {"function": "sum", "value": "amount", "where": WHERE_DECIDED}),
    "logo_churn": _ratio({"function": "count", "where": "status in ['expired', 'terminated']"},
                         {"function": "count", "where": WHERE_DECIDED}),
    "expiring_90d": _ratio({"function": "sum", "value": "amount", "where": "status == 'active'"}),
}


def hand_written(conn: Connection, table: Any, name: str) -> tuple[Any, Any]:
    """The same numerator and denominator, written by hand over the same period."""
    c = table.c
    live = c.deleted_at.is_(None)
    decided = c.status.in_(DECIDED)
    if name == "expiring_90d":
        row = conn.execute(select(func.sum(c.amount)).where(
            live, c.end_date >= NOW.date(), c.end_date < NOW.date() + timedelta(days=91), c.status == "active")).one()
        return row[0], None
    within = (c.end_date >= START) & (c.end_date < END) & live
    renewed = coalesce_zero(c.renewed_amount)
    numerators = {
        "renewal_rate": func.sum(case((c.status == "renewed", 1), else_=0)),
        "renewal_value": func.sum(case((c.status == "renewed", c.amount))),
        "grr": func.sum(case((decided, case((renewed < c.amount, renewed), else_=c.amount)))),
        "nrr": func.sum(case((decided, renewed))),
        "logo_churn": func.sum(case((c.status.in_(("expired", "terminated")), 1), else_=0)),
    }
    counted = name in ("renewal_rate", "logo_churn")
    denominator = func.sum(case((decided, 1), else_=0)) if counted else func.sum(case((decided, c.amount)))
    row = conn.execute(select(numerators[name], denominator).where(within)).one()
    return row[0], row[1]


def coalesce_zero(column: Any) -> Any:
    return func.coalesce(column, 0)


def fill(db: Database, table: Any, contracts: int) -> None:
    rng = random.Random(3)
    with db.write() as conn:
        def rows() -> Any:
            for n in range(contracts):
                status = rng.choice(["active", "renewed", "renewed", "renewed", "expired", "terminated"])
                amount = Decimal(rng.randint(1_000, 500_000)) / 100
                renewed = (amount * Decimal(rng.choice([80, 100, 100, 120])) / 100).quantize(Decimal("0.01")) \
                    if status == "renewed" else None
                yield {**_standard(f"c{n:09d}"), "owner_id": f"rep{n % 10}", "name": f"Contract {n}", "status": status,
                       "end_date": START + timedelta(days=rng.randint(-200, 560)), "amount": amount,
                       "renewed_amount": renewed}
        _chunks(conn, table, rows())


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    contracts = max(sizes.rows // 10, 1_000)
    db = backend.tenant(TENANT)
    services = TenantServices(backend.installation)
    items: dict[tuple[str, str], Any] = {("object", "contract"): CONTRACT}
    items.update({("metric", n): d for n, d in METRICS.items()})
    services.store(TENANT).publish(MetadataSet(items), author="bench")
    registry = services.registry(TENANT)
    table = registry.tables["contract"]
    fill(db, table, contracts)
    settle(db.engine, db.schema, ("obj_contract",))
    context = EvaluationContext.current("Asia/Shanghai")
    context = EvaluationContext(context.timezone, NOW)
    results = []
    for name in METRICS:
        metric = metric_named(registry.metadata, name)
        period = "next_90_days" if name == "expiring_90d" else PERIOD
        found: list[Any] = []

        def ours(_: int, watch: Stopwatch, metric: Any = metric, period: str = period, found: list[Any] = found) -> None:
            with watch, db.read() as conn:
                found.append(compute_metric(conn, registry, Actor.system(), metric, context, period, None, "en").total)

        def theirs(_: int, watch: Stopwatch, name: str = name) -> None:
            with watch, db.read() as conn:
                hand_written(conn, table, name)

        trellis_s, baseline_s = compare(ours, theirs, sizes.repeat)
        with db.read() as conn:
            expected = hand_written(conn, table, name)
        got = (found[-1].numerator, found[-1].denominator)
        if [None if v is None else Decimal(v) for v in got] != [None if v is None else Decimal(v) for v in expected]:
            raise AssertionError(f"{name}: compute_metric gave {got}, the hand-written query {expected}")
        results.append(Result(f"{NAME}/{name}", backend.name, trellis_s, baseline_s,
                              f"{contracts:,} contracts; value {found[-1].value:.4f}; compute_metric vs hand-written "
                              f"SELECT", _plan(db, registry, metric, context, period)))
    return results


def _plan(db: Database, registry: Any, metric: Any, context: EvaluationContext, period: str) -> str:
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, ctx: Any, many: bool) -> None:
        if "obj_contract" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        with db.read() as conn:
            compute_metric(conn, registry, Actor.system(), metric, context, period, None, "en")
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    statement, parameters = seen[0]
    with db.read() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute(explain + statement, parameters)
        lines = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
    return f"{NAME}/{metric.name} on {db.dialect} ({explain.strip()}):\n  " + "\n  ".join(lines)
