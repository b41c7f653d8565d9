"""The scheduler: finds the date- and schedule-triggered firings that fell due, once each.

Each timed rule keeps a watermark: due instants up to it were handled. A scan takes the window
(watermark, now], asks the index for the records whose date puts an offset inside it (a range
query per offset on the date column: the work is proportional to what is due, not to what is
stored), re-checks each firing's condition, applies the rule's catch-up policy to firings that
are late because no worker ran, and records the rest with their deliveries — then moves the
watermark, all in one transaction. The run history's unique key makes a firing that another
scheduler (or an earlier, interrupted scan) already recorded a no-op, so restarts and races
never fire twice; on PostgreSQL the watermark row is locked with SKIP LOCKED so concurrent
schedulers split the rules between them instead of queueing.

A schedule rule visits every record of its object at each tick: it reads the table a page at a
time (keyset on id) and firings are judged and recorded a page at a time, so a scan's memory
stays bounded however large the table.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, RowMapping, Table, and_, exists, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from trellis.metadata.model import FieldType
from trellis.platform.db import Database
from trellis.runtime.automation.firing import Firing, Plan, Planner, insert_new
from trellis.runtime.automation.rules import CompiledWorkflowRule, DateTrigger
from trellis.runtime.automation.tables import workflow_runs, workflow_watermarks
from trellis.runtime.expressions import CompiledExpression, EvaluationContext, NotExpressibleInSQL
from trellis.runtime.expressions.functions import months_later
from trellis.runtime.query.columns import ColumnResolver
from trellis.runtime.records.related import LOOKUP_BATCH
from trellis.runtime.registry import Registry
from trellis.runtime.values.coercion import to_json

#: A firing handled within this much of its due instant is on time; later, catch-up rules apply.
GRACE = timedelta(hours=1)
#: Records a schedule rule reads at a time, and firings judged and recorded at a time.
PAGE = 500


@dataclass
class ScanReport:
    """What one scan did, per rule: counts of fired, skipped and failed firings."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, rule: str, plans: Sequence[Plan]) -> None:
        tally = self.counts.setdefault(rule, {"fired": 0, "skipped": 0, "failed": 0})
        for plan in plans:
            tally[plan.outcome] += 1

    def total(self, outcome: str) -> int:
        return sum(t[outcome] for t in self.counts.values())


class Scheduler:
    """Scans the timed rules of one tenant's current release."""

    def __init__(self, db: Database, registry: Registry, timezone: ZoneInfo, locale: str,
                 clock: Callable[[], datetime], grace: timedelta = GRACE):
        self.db = db
        self.registry = registry
        self.timezone = timezone
        self.locale = locale
        self.clock = clock
        self.grace = grace

    def scan(self, rule_name: str | None = None) -> ScanReport:
        report = ScanReport()
        for rule in self.registry.automation.timed:
            if rule_name is None or rule.name == rule_name:
                self._scan_rule(rule, report)
        return report

    def _scan_rule(self, rule: CompiledWorkflowRule, report: ScanReport) -> None:
        now = self.clock()
        with self.db.write() as conn:
            start = self._claim_watermark(conn, rule, now)
            if start is None or start >= now:
                return
            context = EvaluationContext(self.timezone, now)
            planner = Planner(conn, self.registry, context, self.locale)
            report.add(rule.name, [])  # scanned, even when nothing fell due
            narrowing = candidate_filter(conn, planner, rule)
            for firings in _chunks(due_firings(conn, planner, rule, start, now, self.timezone, narrowing), PAGE):
                report.add(rule.name, planner.record(self._judge(conn, planner, firings, now)))
            conn.execute(update(workflow_watermarks).where(workflow_watermarks.c.rule == rule.name)
                         .values(scanned_to=now, release=self.registry.release))

    def _claim_watermark(self, conn: Connection, rule: CompiledWorkflowRule, now: datetime) -> datetime | None:
        """The rule's watermark, locked for this scan; None when another scheduler holds it or
        the rule is new (it starts from now: a rule does not fire for the past it was not
        published in)."""
        marks = workflow_watermarks
        insert_new(conn, marks, [{"rule": rule.name, "scanned_to": now, "release": self.registry.release}], "rule")
        row = conn.execute(select(marks.c.scanned_to).where(marks.c.rule == rule.name)
                           .with_for_update(skip_locked=True)).first()
        return None if row is None else row.scanned_to

    def _judge(self, conn: Connection, planner: Planner, firings: Sequence[Firing], now: datetime) -> list[Plan]:
        """Plans for due firings: late ones under the catch-up policy, repeats of an offset that
        already fired for a moved date skipped, the rest planned (condition re-checked)."""
        earlier = _fired_anchors(conn, firings)
        plans = []
        for firing in firings:
            rule = firing.rule
            late = now - firing.due_at
            due_text = firing.due_at.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M %Z")
            if late > self.grace and rule.catch_up == "skip":
                plans.append(Plan(firing, "skipped", f"missed: due {due_text} while no worker ran "
                                                     "(catch-up policy: skip)"))
                continue
            if late > self.grace + rule.late_limit:
                days = rule.late_limit.days
                plans.append(Plan(firing, "skipped", f"missed: due {due_text}, more than {days} day"
                                                     f"{'' if days == 1 else 's'} ago (catch-up policy: send late "
                                                     f"within {days} day{'' if days == 1 else 's'})"))
                continue
            repeat = _repeat_of(firing, earlier)
            if repeat is not None:
                plans.append(Plan(firing, "skipped", f"already fired for offset {firing.step} when the date was "
                                                     f"{repeat}; the date moved to {firing.anchor}"))
                continue
            plan = planner.plan(firing)
            if rule.kind == "schedule" and plan.outcome == "skipped":
                continue  # a schedule visits every record; those not matching are not news
            plans.append(plan)
        return plans


def candidate_filter(conn: Connection, planner: Planner, rule: CompiledWorkflowRule) -> ColumnElement[bool] | None:
    """The SQL that keeps a date rule's scan to the records that can fire: its condition, where
    the database computes exactly what `evaluate()` would, or a record that already fired for
    this rule (its skip belongs in the history: "condition not met" after a reminder went out).

    None (every due record is loaded and judged in Python) when the rule has no condition, reads
    a related record, or can fail on some data (division): a failure must be recorded, and SQL
    would only drop the row. The condition binds `today()` to the planner's clock, the instant
    the scan judges at."""
    condition = rule.condition
    if rule.date is None or condition is None or condition.lookups or _can_fail(condition):
        return None
    table = planner.registry.compiled[rule.object].table
    resolver = ColumnResolver(planner.registry, planner.context, conn.dialect.name)
    try:
        holds = resolver.expression(rule.object, condition, table)
    except NotExpressibleInSQL:
        return None
    runs = workflow_runs.c
    fired_before = exists(select(1).select_from(workflow_runs).where(
        runs.rule == rule.name, runs.record_id == table.c.id, runs.outcome == "fired"))
    return or_(holds, fired_before)


def _can_fail(expression: CompiledExpression) -> bool:
    """Whether evaluating may raise on some values: dividing (by zero)."""
    return any(isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod))
               for node in ast.walk(expression.tree))


def due_firings(conn: Connection, planner: Planner, rule: CompiledWorkflowRule, start: datetime, end: datetime,
                tenant_zone: ZoneInfo, narrowing: ColumnElement[bool] | None = None) -> Iterator[Firing]:
    """The firings of one timed rule whose due instant lies in (start, end], in due order (a
    schedule rule's: in due order within each page of records, read once for all its ticks).
    `narrowing` (`candidate_filter`) leaves out date-rule records that cannot fire."""
    compiled = planner.registry.compiled[rule.object]
    table = compiled.table
    if rule.date is not None:
        trigger = rule.date
        column = table.c[trigger.field]
        field_def = compiled.definition.fields.get(trigger.field)  # None: a standard date-time column
        is_date = field_def is not None and field_def.type is FieldType.DATE
        found: list[Firing] = []
        for offset in trigger.offsets:
            low, high = _anchor_range(trigger, offset, start, end, tenant_zone, is_date)
            if is_date and trigger.timezone_field is None:
                low, high = _exact_days(trigger, offset, low, high, start, end, trigger.timezone or tenant_zone)
            query = select(table).where(table.c.deleted_at.is_(None), column >= low, column <= high)
            if narrowing is not None:
                query = query.where(narrowing)
            rows = conn.execute(query.order_by(column, table.c.id)).mappings().all()
            if trigger.timezone_field is None:  # one zone for all: drop the widened margin before preparing
                zone = trigger.timezone or tenant_zone
                rows = [r for r in rows if r[trigger.field] is not None
                        and start < trigger.due(r[trigger.field], offset, zone) <= end]
            for record, related in planner.prepare(compiled, rows):
                anchor = record.get(trigger.field)
                if anchor is None:
                    continue
                zone = _record_zone(trigger, record, related) or trigger.timezone or tenant_zone
                due = trigger.due(anchor, offset, zone).astimezone(UTC)
                if start < due <= end:
                    found.append(Firing(rule, record, related, "date", due, trigger.step(offset), offset, to_json(anchor)))
        found.sort(key=lambda f: (f.due_at, f.record_id, f.step))
        yield from found
        return
    assert rule.cron is not None
    zone = rule.cron_timezone or tenant_zone
    instants = rule.cron.between(start, end, zone)
    if not instants:
        return
    for page in _pages(conn, table):
        prepared = planner.prepare(compiled, page)
        for instant in instants:
            for record, related in prepared:
                yield Firing(rule, record, related, "schedule", instant.astimezone(UTC))


def _pages(conn: Connection, table: Table, size: int = PAGE) -> Iterator[Sequence[RowMapping]]:
    """The table's live records by id, `size` at a time (keyset: each page starts after the last
    id of the one before, so no page rescans what came before it)."""
    query = select(table).where(table.c.deleted_at.is_(None)).order_by(table.c.id).limit(size)
    after: str | None = None
    while True:
        rows = conn.execute(query if after is None else query.where(table.c.id > after)).mappings().all()
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1]["id"]


def _chunks(firings: Iterable[Firing], size: int) -> Iterator[list[Firing]]:
    chunk: list[Firing] = []
    for firing in firings:
        chunk.append(firing)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _anchor_range(trigger: DateTrigger, offset: int, start: datetime, end: datetime, zone: ZoneInfo,
                  is_date: bool) -> tuple[Any, Any]:
    """Bounds on the date column for an offset to fall due in (start, end]: generous by a day
    (records may have their own time zone) and made exact in Python afterwards."""
    if trigger.unit in ("days", "months"):
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        if trigger.unit == "days":
            low, high = first - timedelta(days=offset + 1), last - timedelta(days=offset - 1)
        else:
            low, high = months_later(first, -offset) - timedelta(days=4), months_later(last, -offset) + timedelta(days=4)
    else:
        delta = timedelta(minutes=offset) if trigger.unit == "minutes" else timedelta(hours=offset)
        low_instant, high_instant = start - delta - timedelta(days=1), end - delta + timedelta(days=1)
        if not is_date:
            return low_instant, high_instant
        low, high = low_instant.astimezone(zone).date(), high_instant.astimezone(zone).date()
    if is_date:
        return low, high
    return (datetime.combine(low, datetime.min.time(), tzinfo=zone) - timedelta(days=1),
            datetime.combine(high, datetime.max.time(), tzinfo=zone) + timedelta(days=1))


def _exact_days(trigger: DateTrigger, offset: int, low: date, high: date, start: datetime, end: datetime,
                zone: ZoneInfo) -> tuple[date, date]:
    """The generous day range narrowed to the dates that fall due in (start, end] when every
    record shares one zone (the due instant grows with the date), so a one-day scan reads one
    day of records per offset instead of three."""
    while low <= high and trigger.due(low, offset, zone) <= start:
        low += timedelta(days=1)
    while high >= low and trigger.due(high, offset, zone) > end:
        high -= timedelta(days=1)
    return low, high


def _record_zone(trigger: DateTrigger, record: dict[str, Any], related: dict[str, Any]) -> ZoneInfo | None:
    """The time zone a record names in `timezone_field` (a blank or unknown name: none)."""
    if trigger.timezone_field is None:
        return None
    base, _, attr = trigger.timezone_field.partition(".")
    value = (related.get(base) or {}).get(attr) if attr else record.get(base)
    if not value:
        return None
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _fired_anchors(conn: Connection, firings: Sequence[Firing]) -> dict[tuple[str, str, str], list[str]]:
    """For date firings: the anchors each (rule, record, step) already fired for."""
    dated = [f for f in firings if f.anchor is not None]
    if not dated:
        return {}
    runs = workflow_runs
    found: dict[tuple[str, str, str], list[str]] = {}
    ids = sorted({f.record_id for f in dated})
    rule = dated[0].rule.name
    for begin in range(0, len(ids), LOOKUP_BATCH):
        rows = conn.execute(select(runs.c.record_id, runs.c.step, runs.c.anchor).where(and_(
            runs.c.rule == rule, runs.c.record_id.in_(ids[begin:begin + LOOKUP_BATCH]), runs.c.outcome == "fired")))
        for row in rows:
            found.setdefault((rule, row.record_id, row.step), []).append(row.anchor)
    return found


def _repeat_of(firing: Firing, earlier: dict[tuple[str, str, str], list[str]]) -> str | None:
    """The earlier anchor this firing repeats: the same offset already fired for a date less than
    the rule's span away (the date was moved, not renewed)."""
    if firing.anchor is None or firing.rule.date is None:
        return None
    current = _instant(firing.anchor)
    for anchor in earlier.get((firing.rule.name, firing.record_id, firing.step), ()):
        if anchor != firing.anchor and abs(_instant(anchor) - current) < firing.rule.date.span:
            return anchor
    return None


def _instant(anchor: str) -> datetime:
    if "T" in anchor:
        return datetime.fromisoformat(anchor.replace("Z", "+00:00"))
    return datetime.combine(date.fromisoformat(anchor), datetime.min.time(), tzinfo=UTC)
