"""scores: a health score model over `sizes.rows // 10` accounts and `sizes.rows` related rows.

Accounts (100,000 at full size) with seats and an NPS; usage rows (60% of the related rows, one
per account per day) and support tickets (40%). The model has five factors over four
aggregates: peak active users in 30 days ÷ seats, open P1 tickets, average CSAT over 90 days,
the latest usage row's active users, and the account's own NPS.

* `run`  `ScoreRunner.run` over every account, first run (every score and band is new, so each
  account is written through the records service, with history, audit and a snapshot) against
  the hand-written SQL that computes the same four aggregates for all accounts (read only: the
  floor below which no scoring can go). The notes give the time per 1,000 accounts (the cost
  is linear when that stays flat between sizes: compare `--quick` with the full run) and the
  statements per batch: the reads (records, lookups, aggregates) counted by the runner, and
  every statement the database saw, divided by the batches.
* `rerun`  the same run again: nothing changed, so no record is written; only snapshots.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event, func, insert, select

from bench.add_field import settle
from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, compare
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.runtime.scores.model import model_named
from trellis.runtime.scores.runner import ScoreRunner
from trellis.runtime.services import TenantServices, write_hooks

NAME = "scores"
TENANT = "scores"
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
ACCOUNT = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "seats": {"type": "integer"}, "nps": {"type": "integer"},
    "health_score": {"type": "integer", "x-track-history": True},
    "health_band": {"type": "string", "enum": ["健康", "关注", "风险"]}, "health_change": {"type": "integer"}}}
USAGE = {"type": "object", "required": ["account"], "properties": {
    "account": {"type": "string", "x-ref": "account"}, "used_on": {"type": "string", "format": "date"},
    "active_users": {"type": "integer"}}}
TICKET = {"type": "object", "required": ["account"], "properties": {
    "account": {"type": "string", "x-ref": "account"}, "priority": {"type": "string", "enum": ["P1", "P2", "P3"]},
    "status": {"type": "string", "enum": ["open", "closed"]}, "csat": {"type": "integer"},
    "opened": {"type": "string", "format": "date"}}}
MODEL = {
    "object": "account", "score_field": "health_score", "band_field": "health_band", "change_field": "health_change",
    "aggregates": {
        "peak_users": {"object": "usage", "via": "account", "function": "max", "value": "active_users",
                       "date_field": "used_on", "within_days": 30},
        "latest_users": {"object": "usage", "via": "account", "function": "latest", "value": "active_users",
                         "date_field": "used_on"},
        "open_p1": {"object": "ticket", "via": "account", "function": "count",
                    "where": "priority == 'P1' and status == 'open'"},
        "csat": {"object": "ticket", "via": "account", "function": "avg", "value": "csat",
                 "date_field": "opened", "within_days": 90}},
    "factors": [
        {"name": "usage", "label": "Usage", "value": "peak_users / seats", "weight": 30, "blank": "exclude",
         "scale": {"type": "linear", "low": 0.2, "high": 0.8}},
        {"name": "recent", "label": "Recent usage", "value": "latest_users / seats", "weight": 10, "blank": "exclude",
         "scale": {"type": "linear", "low": 0.2, "high": 0.8}},
        {"name": "p1", "label": "Open P1", "value": "open_p1", "weight": 20, "blank": {"neutral": 100},
         "scale": {"type": "thresholds", "direction": "lower_is_better",
                   "steps": [{"max": 0, "points": 100}, {"max": 2, "points": 40}], "otherwise": 0}},
        {"name": "csat", "label": "CSAT", "value": "csat", "weight": 20, "blank": {"neutral": 50},
         "scale": {"type": "linear", "low": 1, "high": 5}},
        {"name": "nps", "label": "NPS", "value": "nps", "weight": 20, "blank": "exclude",
         "scale": {"type": "thresholds", "steps": [{"min": 9, "points": 100}, {"min": 7, "points": 60}], "otherwise": 0}}],
    "bands": [{"value": "健康", "min": 75, "max": 100}, {"value": "关注", "min": 50, "max": 74},
              {"value": "风险", "min": 0, "max": 49}]}
CHUNK = 20_000


def _standard(record_id: str) -> dict[str, Any]:
    return {"id": record_id, "created_at": NOW, "updated_at": NOW, "created_by": "system", "owner_id": "system",
            "version": 1, "deleted_at": None}


def fill(db: Database, registry: Any, accounts: int, related: int) -> None:
    """Accounts and their usage and tickets, inserted in chunks (set-up, not timed)."""
    rng = random.Random(5)
    tables = registry.tables
    with db.write() as conn:
        _chunks(conn, tables["account"], ({**_standard(f"a{n:09d}"), "name": f"Account {n}", "seats": rng.choice([10, 50, 200]),
                                          "nps": rng.choice([None, 3, 7, 9, 10])} for n in range(accounts)))
        usage = related * 6 // 10
        _chunks(conn, tables["usage"], ({**_standard(f"u{n:09d}"), "account": f"a{n % accounts:09d}",
                                        "used_on": TODAY - timedelta(days=n // accounts),
                                        "active_users": rng.randint(0, 60)} for n in range(usage)))
        _chunks(conn, tables["ticket"], ({**_standard(f"t{n:09d}"), "account": f"a{rng.randrange(accounts):09d}",
                                         "priority": rng.choice(["P1", "P2", "P3", "P3"]),
                                         "status": rng.choice(["open", "closed", "closed"]), "csat": rng.randint(1, 5),
                                         "opened": TODAY - timedelta(days=rng.randint(0, 200))}
                                        for n in range(related - usage)))


def _chunks(conn: Connection, table: Any, rows: Any) -> None:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            conn.execute(insert(table), chunk)
            chunk = []
    if chunk:
        conn.execute(insert(table), chunk)


def hand_written(conn: Connection, registry: Any) -> int:
    """The four aggregates for every account, as one would write them: the floor of any scoring."""
    usage, ticket = registry.tables["usage"], registry.tables["ticket"]
    since30, since90 = TODAY - timedelta(days=30), TODAY - timedelta(days=90)
    rows = len(conn.execute(select(usage.c.account, func.max(usage.c.active_users))
                            .where(usage.c.used_on >= since30).group_by(usage.c.account)).all())
    latest = select(usage.c.account, usage.c.active_users, func.row_number().over(
        partition_by=usage.c.account, order_by=(usage.c.used_on.desc(), usage.c.id.desc())).label("r")).subquery()
    rows += len(conn.execute(select(latest.c.account, latest.c.active_users).where(latest.c.r == 1)).all())
    rows += len(conn.execute(select(ticket.c.account, func.count()).where(
        ticket.c.priority == "P1", ticket.c.status == "open").group_by(ticket.c.account)).all())
    rows += len(conn.execute(select(ticket.c.account, func.avg(ticket.c.csat)).where(
        ticket.c.opened >= since90).group_by(ticket.c.account)).all())
    return rows


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    accounts, related = max(sizes.rows // 10, 100), sizes.rows
    db = backend.tenant(TENANT)
    services = TenantServices(backend.installation)
    services.store(TENANT).publish(MetadataSet({
        ("object", "account"): ACCOUNT, ("object", "usage"): USAGE, ("object", "ticket"): TICKET,
        ("score_model", "health"): MODEL}), author="bench")
    registry = services.registry(TENANT)
    fill(db, registry, accounts, related)
    settle(db.engine, db.schema, ("obj_account", "obj_usage", "obj_ticket"))
    model = model_named(registry.metadata, "health")
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    reports = []

    def ours(_: int, watch: Stopwatch) -> None:
        runner = ScoreRunner(db, registry, model, "Asia/Shanghai", "zh-CN", lambda: NOW, write_hooks())
        statements[0] = 0
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with watch:
                reports.append(runner.run("bench"))
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        reports[-1].problems.append(f"statements={statements[0]}")

    def theirs(_: int, watch: Stopwatch) -> None:
        with watch, db.read() as conn:
            hand_written(conn, registry)

    results = []
    for label in ("run", "rerun"):
        if label == "rerun":  # the second run writes every change field (blank -> 0); the third writes nothing
            ours(0, Stopwatch())
        trellis_s, baseline_s = compare(ours, theirs, 1)
        report = reports[-1]
        total = int(report.problems[-1].split("=")[1])
        results.append(Result(
            f"{NAME}/{label}", backend.name, trellis_s, baseline_s,
            f"{accounts:,} accounts, {related:,} related rows, 5 factors: {report.changed:,} changed, "
            f"{trellis_s / accounts * 1000:.3f} s per 1,000 accounts; {report.batches} batches of 1,000: "
            f"{report.statements_per_batch} reads per batch, {total / max(report.batches, 1):,.0f} statements per "
            f"batch in all (writes, history, audit, snapshots, rules); ScoreRunner.run vs hand-written aggregates"))
    return results
