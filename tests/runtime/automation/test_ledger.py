"""The run history and the ledger as admins read them, and dead letters queued again."""

from __future__ import annotations

from datetime import date

import pytest

from tests.runtime.automation.world import World
from trellis.runtime.automation.ledger import list_deliveries, requeue, run_history

ON_CREATE = {"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": [
    {"type": "notify", "channel": "sms", "to": [{"address": "+8613800000000"}], "body": "{{ record.name }}"},
    {"type": "update_record", "values": {"note": "'seen'"}}]}


def test_history_ledger_and_requeue(world: World):
    world.publish(created=ON_CREATE)
    first = world.contract("C1", date(2026, 6, 30))
    world.clock.advance(minutes=1)
    second = world.contract("C2", date(2026, 6, 30))
    world.dispatch()  # sms is not configured: dead; the record updates are sent

    runs = run_history(world.db, rule="created")
    assert [(r.record_id, r.outcome, dict(r.deliveries)) for r in runs] == [
        (second, "fired", {"dead": 1, "sent": 1}), (first, "fired", {"dead": 1, "sent": 1})]
    assert [r.record_id for r in run_history(world.db, record_id=first)] == [first]
    assert len(run_history(world.db, limit=1)) == 1

    dead = list_deliveries(world.db, status="dead")
    assert [(d.record_id, d.kind, d.channel, d.recipient) for d in dead] == [
        (second, "notify", "sms", "+8613800000000"), (first, "notify", "sms", "+8613800000000")]
    assert {(d.kind, d.channel) for d in list_deliveries(world.db, status="sent")} == {("update_record", "")}
    with pytest.raises(ValueError, match="status must be one of pending, sending, sent, dead"):
        list_deliveries(world.db, status="lost")

    assert requeue(world.db, [dead[0].id], clock=world.clock) == 1
    assert requeue(world.db, [dead[0].id], clock=world.clock) == 0  # no longer dead
    pending, = list_deliveries(world.db, status="pending")
    assert (pending.id, pending.attempts) == (dead[0].id, 0)
    assert requeue(world.db, clock=world.clock) == 1  # all the others
    assert [d.status for d in list_deliveries(world.db) if d.kind == "notify"] == ["pending", "pending"]
