"""Record-triggered rules: before-save rules change or refuse the write; after-save rules leave
through the outbox only when the write commits, and their record actions run once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.runtime.automation.world import World
from trellis.runtime.access import Actor
from trellis.runtime.errors import InvalidInput
from trellis.runtime.inbox.tables import tasks

CANCELLED = {
    "object": "contract",
    "trigger": {"type": "record", "events": ["updated"], "fields": ["status"]},
    "condition": "status == 'cancelled'",
    "actions": [
        {"type": "notify", "channel": "in_app", "to": [{"role": "manager"}, {"user_field": "owner_id"}],
         "subject": "{{ record.name }} was cancelled", "body": "Owner: {{ recipient.name }}"},
        {"type": "update_record", "values": {"note": "'cancelled: ' + name"}},
        {"type": "update_record", "target": "account", "values": {"tier": "'silver'"}},
        {"type": "create_task", "title": "Call {{ related.account.name }} about {{ record.name }}",
         "assignee": {"user_field": "owner_id"}, "due_in_days": 3},
        {"type": "create_record", "object": "account", "values": {"name": "'Win back ' + account.name"}},
    ],
}
BIG_DEALS = {
    "object": "contract",
    "trigger": {"type": "record", "events": ["created", "updated"], "timing": "before_save"},
    "condition": "amount >= 100000",
    "actions": [{"type": "set_fields", "values": {"note": "'big deal'", "auto_renew": "True"}}],
}
NO_BACKDATED_EXPIRY = {
    "object": "contract",
    "trigger": {"type": "record", "events": ["updated"], "fields": ["status"], "timing": "before_save"},
    "condition": "status == 'expired' and end_date > today()",
    "actions": [{"type": "reject", "message": {"en": "a contract cannot expire before its end date",
                                               "zh-CN": "合同未到期，不能标记为已过期"}}],
}


@pytest.fixture
def world(installation) -> World:  # type: ignore[no-untyped-def]
    return World.create(installation)


def test_after_save_rule_runs_every_action_once_after_the_commit(world: World):
    world.publish(cancelled=CANCELLED)
    contract = world.contract("Cloud plan", date(2026, 6, 30))
    records = world.records()
    records.update(Actor.system(), "contract", contract, {"amount": "99"})  # status unchanged: no firing
    assert world.runs() == []
    records.update(Actor.system(), "contract", contract, {"status": "cancelled"})
    runs = world.runs()
    assert [(r["trigger"], r["outcome"]) for r in runs] == [("updated", "fired")]
    assert [(d["kind"], d["channel"]) for d in world.deliveries()] == [
        ("notify", "in_app"), ("notify", "in_app"), ("update_record", ""), ("update_record", ""),
        ("create_task", ""), ("create_record", "")]
    report = world.dispatch()
    assert (report.sent, report.dead) == (6, 0)
    assert world.dispatch().claimed == 0  # nothing left, nothing twice
    stored = records.get(Actor.system(), "contract", contract)
    assert stored["note"] == "cancelled: Cloud plan"
    assert records.get(Actor.system(), "account", stored["account"])["tier"] == "silver"
    names = [a["name"] for a in records.list(Actor.system(), "account").records]
    assert sorted(names) == ["Acme Ltd", "Win back Acme Ltd"]
    with world.db.read() as conn:
        rows = conn.execute(select(tasks)).mappings().all()
    assert [(t["title"], t["assignee_id"], t["due_date"]) for t in rows] == [
        ("Call Acme Ltd about Cloud plan", world.users["alice@acme.test"], date(2026, 3, 4))]
    bodies = sorted((n["user_id"], n["body"]) for n in world.notifications() if n["title"] == "Cloud plan was cancelled")
    assert bodies == sorted([(world.users["bob@acme.test"], "Owner: Bob"), (world.users["alice@acme.test"], "Owner: Alice")])


def test_a_write_that_rolls_back_sends_nothing(world: World):
    world.publish(cancelled=CANCELLED)
    contract = world.contract("Cloud plan", date(2026, 6, 30))
    with pytest.raises(InvalidInput):
        world.records().update(Actor.system(), "contract", contract, {"status": "cancelled", "amount": "lots"})
    assert world.runs() == [] and world.deliveries() == []


def test_before_save_rules_set_fields_and_reject(world: World):
    world.publish(big=BIG_DEALS, guard=NO_BACKDATED_EXPIRY)
    records = world.records()
    big = world.contract("Big", date(2026, 6, 30), amount="250000")
    small = world.contract("Small", date(2026, 6, 30), amount="10")
    assert (records.get(Actor.system(), "contract", big)["note"], records.get(Actor.system(), "contract", big)["auto_renew"]) \
        == ("big deal", True)
    assert records.get(Actor.system(), "contract", small)["note"] is None
    with pytest.raises(InvalidInput) as refused:
        records.update(Actor.system(), "contract", small, {"status": "expired"})
    assert [p.message for p in refused.value.problems] == ["合同未到期，不能标记为已过期"]
    assert records.get(Actor.system(), "contract", small)["status"] == "active"


def test_rules_that_trigger_each_other_stop_at_the_depth_limit(world: World):
    echo = {"object": "contract", "trigger": {"type": "record", "events": ["updated"], "fields": ["note"]},
            "actions": [{"type": "update_record", "values": {"note": "coalesce(note, '') + '!'"}}]}
    world.publish(echo=echo)
    contract = world.contract("Loop", date(2026, 6, 30))
    world.records().update(Actor.system(), "contract", contract, {"note": "go"})
    for _ in range(10):
        world.dispatch()
    assert world.records().get(Actor.system(), "contract", contract)["note"] == "go!!!!!"
    last = world.runs()[-1]
    assert last["outcome"] == "failed" and "stopped: rules triggered each other 5 times" in last["reason"]
