"""reminders: the scheduler's daily scan over `sizes.rows` contracts with five offsets.

The contracts of `records_list_page` (end dates spread over three years, 40% active, 1%
soft-deleted, 1% without dates), with `end_date` indexed, and the renewals reminder rule:
offsets -90, -60, -30, -7 and 0 days at 09:00, condition `status == '生效' and not auto_renew`,
one email to a literal address per firing.

* `scan_1d` / `scan_7d`  one `Scheduler.scan` over a window of one day / seven days (firings
  planned: condition re-checked, template rendered, run and ledger rows written) against what
  one would write by hand for the same result, in the same run and transaction shape: the
  query that finds the due contracts (five `end_date = d` lookups with the condition in SQL),
  then one run row and one ledger row per firing, the message formatted with f-strings. The
  notes give what was due and the time per firing: the same per-firing cost at 1 and 7 days is
  the scan being proportional to what is due, not to what is stored. The plan of Trellis's
  candidate query is printed after the table.
* messages/s into the outbox: ledger rows written per second by the timed scans.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, delete, event, func, or_, select

from bench.backends import Backend
from bench.generate import ACCOUNT, CONTRACT, CONTRACT_STATUSES
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare
from bench.records import contracts_tenant
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.automation.scheduler import Scheduler
from trellis.runtime.automation.tables import deliveries, workflow_runs, workflow_watermarks

NAME = "reminders"
ZONE = ZoneInfo("Asia/Shanghai")
OFFSETS = (-90, -60, -30, -7, 0)
DAY = date(2026, 6, 1)  # a day in the middle of the generated end dates
RULE = {
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": list(OFFSETS), "unit": "days", "at": "09:00"},
    "condition": f"status == '{CONTRACT_STATUSES[0]}' and not auto_renew",
    "catch_up": {"policy": "send_late", "within_days": 30},  # a 7-day window is one scan here, not late
    "actions": [{"type": "notify", "channel": "email", "to": [{"address": "renewals@example.test"}],
                 "subject": "{{ record.title }} ends {{ record.end_date | date }}",
                 "body": "{{ record.number }}: {{ record.amount | money }}"}],
}


def metadata() -> MetadataSet:
    """No `x-index` on end_date: publishing indexes the date a date rule scans by itself."""
    return MetadataSet({("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT,
                        ("workflow_rule", "renewal_reminder"): RULE})


def window(days: int) -> tuple[datetime, datetime]:
    """From just before 09:00 local on DAY to just before 09:00 `days` days later."""
    start = datetime.combine(DAY, time(8, 59), tzinfo=ZONE).astimezone(UTC)
    return start, start + timedelta(days=days)


def reset(db: Database, start: datetime) -> None:
    """Forget every firing and put the watermark back at `start` (set-up, not timed)."""
    with db.write() as conn:
        conn.execute(delete(deliveries))
        conn.execute(delete(workflow_runs))
        conn.execute(delete(workflow_watermarks))
        conn.execute(workflow_watermarks.insert().values(rule="renewal_reminder", scanned_to=start, release=1))


def hand_written(conn: Connection, table, days: int) -> list[Row[Any]]:  # type: ignore[no-untyped-def]
    """The due contracts of the window, as one would write it by hand."""
    first = DAY
    due_days = [first + timedelta(days=i) for i in range(days)]
    wanted = [d - timedelta(days=o) for d in due_days for o in OFFSETS]
    query = select(table.c.id, table.c.end_date, table.c.title, table.c.number, table.c.amount).where(
        table.c.deleted_at.is_(None), table.c.status == CONTRACT_STATUSES[0],
        or_(table.c.auto_renew.is_(False), table.c.auto_renew.is_(None)), table.c.end_date.in_(wanted))
    return list(conn.execute(query))


def hand_written_firings(conn: Connection, table, days: int, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """The due contracts found by hand, and their run and ledger rows written by hand."""
    runs, ledger = [], []
    due_days = {DAY + timedelta(days=i) for i in range(days)}
    for row in hand_written(conn, table, days):
        offset = next(o for o in OFFSETS if row.end_date + timedelta(days=o) in due_days)
        run_id = new_id()
        due = datetime.combine(row.end_date + timedelta(days=offset), time(9), tzinfo=ZONE).astimezone(UTC)
        runs.append({"id": run_id, "rule": "renewal_reminder", "release": 1, "object": "contract",
                     "record_id": row.id, "trigger": "date", "step": f"{offset}d", "anchor": row.end_date.isoformat(),
                     "due_at": due, "fired_at": now, "outcome": "fired", "reason": None})
        payload = {"subject": f"{row.title} ends {row.end_date:%Y年%-m月%-d日}",
                   "body": f"{row.number}: ¥{row.amount or 0:,.2f}"}
        ledger.append({"id": new_id(), "run_id": run_id, "rule": "renewal_reminder", "record_id": row.id,
                       "step": f"{offset}d", "due_at": due, "action": 0, "kind": "message", "channel": "email",
                       "recipient": "renewals@example.test", "payload": json.dumps(payload, ensure_ascii=False),
                       "status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": None,
                       "last_error": None, "created_at": now, "sent_at": None})
    if runs:
        conn.execute(workflow_runs.insert(), runs)
        conn.execute(deliveries.insert(), ledger)
    return len(runs)


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    db, services = contracts_tenant(backend, sizes, "reminders", metadata())
    registry = services.registry("reminders")
    table = registry.tables["contract"]
    results = []
    statements: list[str] = []
    for days in (1, 7):
        start, end = window(days)
        scheduler = Scheduler(db, registry, ZONE, "zh-CN", lambda end=end: end)  # type: ignore[misc]
        fired: list[int] = []

        def ours(_: int, watch: Stopwatch, scheduler: Scheduler = scheduler, start: datetime = start,
                 fired: list[int] = fired) -> None:
            reset(db, start)
            with watch:
                report = scheduler.scan()
            fired.append(report.total("fired"))

        def theirs(_: int, watch: Stopwatch, days: int = days, start: datetime = start, end: datetime = end) -> None:
            reset(db, start)
            with watch, db.write() as conn:
                hand_written_firings(conn, table, days, end)

        pair: tuple[TimedRun, TimedRun] = (ours, theirs)
        trellis_s, baseline_s = compare(*pair, sizes.repeat)
        with db.read() as conn:
            due = len(hand_written(conn, table, days))
            messages = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
        if fired[-1] != due or messages != due:
            raise AssertionError(f"scan fired {fired[-1]} and queued {messages}; the hand-written query finds {due}")
        if days == 1:
            statements = captured_scan(db, registry, start, end)
        results.append(Result(
            f"{NAME}/scan_{days}d", backend.name, trellis_s, baseline_s,
            f"{due:,} firings due of {sizes.rows:,} contracts; {trellis_s / max(due, 1) * 1e6:.0f} µs per firing; "
            f"{messages / trellis_s:,.0f} messages/s into the outbox; Scheduler.scan vs hand-written SELECT "
            f"+ INSERT of the run and ledger rows",
            plan_text(db, statements) if days == 1 else ""))
    return results


def captured_scan(db: Database, registry, start: datetime, end: datetime) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """The candidate queries a scan sends (SELECTs on obj_contract), to EXPLAIN."""
    seen: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "obj_contract" in statement and "end_date >=" in statement:
            seen.append((statement, parameters))

    reset(db, start)
    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        Scheduler(db, registry, ZONE, "zh-CN", lambda: end).scan()
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    return seen[:1]


def plan_text(db: Database, statements: list[tuple[str, object]]) -> str:
    if not statements:
        return ""
    statement, parameters = statements[0]
    explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    with db.read() as conn:
        raw = conn.connection.driver_connection
        cursor = raw.cursor()
        cursor.execute(explain + statement, parameters)
        lines = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
    return f"{NAME} candidate query on {db.dialect} ({explain.strip()}):\n  " + "\n  ".join(lines)


