"""Date-relative rules fire exactly once per record and offset: through a normal run, restarts,
re-scans, racing schedulers, outages under each catch-up policy, moved dates and records that
stop matching — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.runtime.automation.world import REMINDER, SHANGHAI, World
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.automation.scheduler import PAGE


@pytest.fixture
def world(installation: Installation) -> World:
    return World.create(installation)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def run_days(world: World, days: int, every_hours: int = 6) -> None:
    """Scan (and dispatch) every few hours for `days` days, each time with a fresh scheduler:
    a worker that restarts between every tick."""
    for _ in range(days * 24 // every_hours):
        world.clock.advance(hours=every_hours)
        world.scan()
        world.dispatch()


def fired(world: World, record_id: str) -> list[tuple[str, datetime]]:
    return [(r["step"], r["due_at"]) for r in world.runs(record_id=record_id, outcome="fired")]


def test_each_offset_fires_once_at_nine_local_time(world: World):
    world.publish(ending=REMINDER)
    end = date(2026, 4, 10)
    contract = world.contract("Cloud plan", end)
    world.scan()  # the first scan sets the watermark: nothing before now fires
    assert world.runs() == []
    run_days(world, 45)
    assert fired(world, contract) == [("-30d", local(date(2026, 3, 11), 9)), ("-7d", local(date(2026, 4, 3), 9)),
                                      ("0d", local(end, 9))]
    notes = world.notifications()
    assert [n["user_id"] for n in notes] == [world.users["alice@acme.test"]] * 3
    assert notes[0]["title"] == "Cloud plan ends 2026年4月10日"
    assert notes[0]["body"] == "Cloud plan (Acme Ltd): ¥12,345.50"
    assert {d["status"] for d in world.deliveries()} == {"sent"}


def test_rescanning_a_window_and_redelivering_changes_nothing(world: World):
    world.publish(ending=REMINDER)
    contract = world.contract("Cloud plan", date(2026, 3, 31))
    world.scan()
    world.clock.advance(days=2)
    assert world.scan().total("fired") == 1  # -30d on 03-01 09:00 local
    world.dispatch()
    world.set_watermark("ending", world.clock.now - timedelta(days=5))  # a scheduler that lost its watermark
    assert world.scan().total("fired") == 0
    assert world.dispatch().claimed == 0
    assert len(world.runs(record_id=contract)) == 1
    assert len(world.notifications()) == 1


def test_racing_schedulers_fire_each_reminder_once(world: World):
    world.publish(ending=REMINDER)
    ends = {date(2026, 3, 31): "-30d", date(2026, 3, 9): "-7d", date(2026, 3, 2): "0d"}  # each due within 2 days
    ids = {world.contract(f"C{i}", end): ends[end] for i, end in enumerate(list(ends) * 10)}
    world.scan()
    start = world.clock.now
    world.clock.advance(days=2, hours=12)

    errors: list[BaseException] = []

    def scan() -> None:
        try:
            world.scheduler().scan()
            world.dispatch()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    for _ in range(3):
        threads = [threading.Thread(target=scan) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        world.set_watermark("ending", start)  # and again, from scratch
    assert errors == []
    for contract, step in ids.items():
        assert [s for s, _ in fired(world, contract)] == [step]
    assert len(world.notifications()) == len(ids)
    assert {d["status"] for d in world.deliveries()} == {"sent"}


@pytest.mark.parametrize(("catch_up", "expected"), [
    ({"policy": "send_late", "within_days": 5}, ["fired"]),
    ({"policy": "send_late", "within_days": 1}, ["skipped"]),
    ({"policy": "skip"}, ["skipped"]),
])
def test_three_day_outage_follows_the_catch_up_policy(world: World, catch_up, expected):
    world.publish(ending={**REMINDER, "catch_up": catch_up})
    contract = world.contract("Cloud plan", date(2026, 3, 31))
    world.scan()
    world.clock.advance(days=3, hours=6)  # no worker from 03-01 08:00 until 03-04 14:00 local
    world.scan()
    runs = world.runs(record_id=contract)
    assert [r["outcome"] for r in runs] == expected
    if expected == ["skipped"]:
        assert runs[0]["reason"].startswith("missed: due 2026-03-01 09:00 CST")
        assert world.deliveries() == []
    else:
        assert len(world.deliveries()) == 1


def test_a_moved_date_replans_pending_reminders_and_never_repeats_sent_ones(world: World):
    world.publish(ending=REMINDER)
    contract = world.contract("Cloud plan", date(2026, 4, 10))
    world.scan()
    run_days(world, 12)  # -30d went out on 03-11
    assert [s for s, _ in fired(world, contract)] == ["-30d"]
    world.records().update(Actor.system(), "contract", contract, {"end_date": "2026-04-20"})
    run_days(world, 45)
    assert fired(world, contract) == [("-30d", local(date(2026, 3, 11), 9)), ("-7d", local(date(2026, 4, 13), 9)),
                                      ("0d", local(date(2026, 4, 20), 9))]
    repeat = world.runs(record_id=contract, outcome="skipped")
    assert len(repeat) == 1 and repeat[0]["step"] == "-30d"
    assert "already fired for offset -30d when the date was 2026-04-10" in repeat[0]["reason"]
    assert len(world.notifications()) == 3


def test_a_renewed_date_starts_a_new_cycle(world: World):
    world.publish(ending=REMINDER)
    contract = world.contract("Cloud plan", date(2026, 3, 5))
    world.scan()
    run_days(world, 6)
    world.records().update(Actor.system(), "contract", contract, {"end_date": "2027-03-05"})
    world.clock.at(date(2027, 2, 1), 0)
    world.set_watermark("ending", world.clock.now)
    run_days(world, 40)
    assert [s for s, _ in fired(world, contract)] == ["0d", "-30d", "-7d", "0d"]  # -7d was before START


def test_a_record_that_stops_matching_is_skipped_with_the_reason(world: World):
    world.publish(ending=REMINDER)
    contract = world.contract("Cloud plan", date(2026, 4, 10))
    renewing = world.contract("Auto plan", date(2026, 4, 10), auto_renew=True)
    world.scan()
    run_days(world, 12)
    world.records().update(Actor.system(), "contract", contract, {"status": "cancelled"})
    run_days(world, 45)
    outcomes = [(r["step"], r["outcome"], r["reason"]) for r in world.runs(record_id=contract)]
    reason = "condition not met: status == 'active' and not auto_renew"
    assert outcomes == [("-30d", "fired", None), ("-7d", "skipped", reason), ("0d", "skipped", reason)]
    assert world.runs(record_id=renewing) == []  # never matched: the scan's query left it out, nothing to explain
    assert len(world.notifications()) == 1


@pytest.mark.parametrize("condition", ["account.tier == 'gold'", "amount / 2 > 100"])
def test_conditions_judged_in_python_keep_every_skip_and_failure(world: World, condition: str):
    """A condition that reads a related record, or that can fail on some data (division), is not
    pushed into the scan's query: each due record is judged and its outcome recorded."""
    world.publish(ending={**REMINDER, "condition": condition})
    silver = world.contract("Silver", date(2026, 4, 10), account=world.account(tier="silver"), amount="10")
    world.scan()
    run_days(world, 12)
    assert [(r["step"], r["outcome"]) for r in world.runs(record_id=silver)] == [("-30d", "skipped")]


def test_a_condition_that_fails_on_a_record_is_recorded_as_failed(world: World):
    world.publish(ending={**REMINDER, "condition": "amount / (amount - 10) > 0"})
    broken = world.contract("Ten", date(2026, 4, 10), amount="10")
    world.scan()
    run_days(world, 12)
    [run] = world.runs(record_id=broken)
    assert run["outcome"] == "failed" and "condition could not be checked" in run["reason"]


def test_deleted_records_and_blank_dates_do_not_fire(world: World):
    world.publish(ending=REMINDER)
    gone = world.contract("Gone", date(2026, 3, 31))
    world.records().create(Actor.system(), "contract", {"name": "No date"})
    world.records().delete(Actor.system(), "contract", gone)
    world.scan()
    run_days(world, 40)
    assert world.runs() == []


def test_offsets_in_hours_on_a_date_time_and_in_months(world: World):
    hourly = {**REMINDER, "trigger": {"type": "date", "field": "created_at", "offset": 2, "unit": "hours"},
              "condition": "status == 'active'"}
    monthly = {**REMINDER, "trigger": {"type": "date", "field": "end_date", "offset": -1, "unit": "months",
                                       "at": "10:30"}}
    world.publish(hourly=hourly, monthly=monthly)
    world.scan()
    contract = world.contract("Cloud plan", date(2026, 4, 30))
    created = world.clock.now
    run_days(world, 35, every_hours=1)
    runs = world.runs(record_id=contract, outcome="fired")
    assert [(r["rule"], r["step"], r["due_at"]) for r in runs] == [
        ("hourly", "+2h", created + timedelta(hours=2)),
        ("monthly", "-1mo", local(date(2026, 3, 30), 10, 30)),
    ]


def test_a_schedule_rule_fires_for_each_matching_record_at_each_tick(world: World):
    weekly = {**REMINDER, "trigger": {"type": "schedule", "cron": "0 9 * * MON"}}
    world.publish(weekly=weekly)
    active = world.contract("Active", date(2026, 6, 30))
    cancelled = world.contract("Cancelled", date(2026, 6, 30), status="cancelled")
    world.scan()  # Sunday 2026-03-01 08:00 local
    run_days(world, 9)
    assert [(r["trigger"], r["due_at"]) for r in world.runs(record_id=active)] == [
        ("schedule", local(date(2026, 3, 2), 9)), ("schedule", local(date(2026, 3, 9), 9))]
    assert world.runs(record_id=cancelled) == []  # not matching a schedule is not news: no run rows
    assert len(world.notifications()) == 2


def test_a_schedule_rule_reads_a_table_larger_than_a_page_a_page_at_a_time(world: World):
    weekly = {**REMINDER, "trigger": {"type": "schedule", "cron": "0 9 * * MON"},
              "catch_up": {"policy": "send_late", "within_days": 30}}
    registry = world.publish(weekly=weekly)
    account, owner = world.account(), world.users["alice@acme.test"]
    world.records().create_many(Actor.system(), "contract", [
        {"name": f"C{i}", "end_date": "2026-06-30", "account": account, "owner_id": owner,
         "status": "active" if i % 2 == 0 else "cancelled"} for i in range(2 * PAGE + 1)])
    world.scan()  # Sunday 2026-03-01 08:00 local: the watermark starts here
    table = registry.tables["contract"].name
    pages: list[str] = []

    def page_read(conn: object, cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement and "LIMIT" in statement:
            pages.append(statement)

    world.clock.at(date(2026, 3, 9), 10)  # two Mondays fell due since: one scan catches both up
    event.listen(world.db.engine, "before_cursor_execute", page_read)
    try:
        report = world.scan()
    finally:
        event.remove(world.db.engine, "before_cursor_execute", page_read)
    assert report.counts == {"weekly": {"fired": 2 * (PAGE + 1), "skipped": 0, "failed": 0}}
    assert len(pages) == 3  # 500 + 500 + 1 records, each page read once for both Mondays
    runs = world.runs(rule="weekly")
    assert len({(r["record_id"], r["due_at"]) for r in runs}) == len(runs) == 2 * (PAGE + 1)
    assert {r["due_at"] for r in runs} == {local(date(2026, 3, 2), 9), local(date(2026, 3, 9), 9)}


def test_a_date_rule_can_follow_each_customers_time_zone(world: World):
    local_time = {**REMINDER, "trigger": {"type": "date", "field": "end_date", "offset": 0, "at": "09:00",
                                          "timezone_field": "account.timezone"}}
    world.publish(local_time=local_time)
    new_york = world.contract("NY", date(2026, 3, 10), account=world.account("Acme US", timezone="America/New_York"))
    unknown = world.contract("Blank", date(2026, 3, 10), account=world.account("Acme CN", timezone="Mars/Base"))
    world.scan()
    run_days(world, 12)
    assert fired(world, new_york) == [("0d", datetime(2026, 3, 10, 13, 0, tzinfo=UTC))]  # 09:00 EDT
    assert fired(world, unknown) == [("0d", local(date(2026, 3, 10), 9))]  # an unknown zone: the tenant's
