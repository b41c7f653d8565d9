"""Timed rules of the app per cycle: a monthly contract is reminded a week before its end (the
per-tier 60/30/7-day reminders skip it); a yearly one keeps its tier's reminder; a quote past its
validity lapses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.renewals.world import TENANT, Renewals
from trellis.runtime.automation.tables import workflow_runs

SHANGHAI = ZoneInfo("Asia/Shanghai")


def runs(renewals: Renewals, record_id: str) -> set[tuple[str, str, str]]:
    with renewals.services.database(TENANT).read() as conn:
        return {(r.rule, r.step, r.outcome) for r in conn.execute(select(workflow_runs).where(
            workflow_runs.c.record_id == record_id))}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def test_reminders_follow_the_cycle(renewals: Renewals) -> None:
    today = date(2026, 3, 1)
    renewals.clock.now = at(today, 0)
    crm = renewals.product("CRM", "100.00")
    monthly = renewals.contract([(crm, 1, "100.00", "0")], number="M-1", start="2026-02-09", end="2026-03-08",
                                cycle="月度")
    yearly = renewals.contract([(crm, 1, "100.00", "0")], number="Y-1", start="2025-03-09", end="2026-03-08")
    renewals.settle()
    renewals.clock.now = at(today, 10)  # 7 days before both ends, after 09:00
    renewals.settle()
    fired = {record: {rule for rule, step, outcome in runs(renewals, record) if outcome == "fired" and step == "-7d"}
             for record in (monthly, yearly)}
    assert fired[monthly] == {"monthly_renewal_reminder"}  # the tier reminders' condition leaves it out
    assert fired[yearly] == {"standard_renewal_reminder"}  # a small account: the standard tier


def test_a_quote_lapses_after_its_validity(renewals: Renewals) -> None:
    renewals.clock.now = at(date(2026, 3, 1), 12)
    crm = renewals.product("CRM", "100.00")
    quote = renewals.quote([{"product": crm, "quantity": 1, "list_price": "100"}], valid_until="2026-03-01")
    renewals.settle()
    renewals.clock.now += timedelta(days=1)
    renewals.settle()
    assert renewals.get("quote", quote)["status"] == "已失效"
