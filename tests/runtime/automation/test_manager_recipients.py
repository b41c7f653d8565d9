"""`{"manager_of": "owner_id"}`: a rule's message or task goes to whom the named user reports to
(the next active manager up when theirs is deactivated); nobody, with a note in the run history,
when the chain ends. Checked at publish like a user field. On both databases."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from tests.runtime.automation.world import World
from trellis.metadata.errors import MetadataInvalid
from trellis.runtime.identity import UserService

ESCALATE = {
    "object": "contract",
    "trigger": {"type": "record", "events": ["created"]},
    "actions": [
        {"type": "notify", "channel": "email", "to": [{"user_field": "owner_id"}, {"manager_of": "owner_id"}],
         "subject": "{{ record.name }} for {{ recipient.name }}", "body": "."},
        {"type": "create_task", "title": "Check {{ record.name }}", "assignee": {"manager_of": "owner_id"}},
    ],
}


def test_messages_and_tasks_reach_the_owners_manager(world: World):
    world.publish(escalate=ESCALATE)
    users = UserService(world.db, world.store)
    users.set_manager("alice@acme.test", "bob@acme.test")
    record = world.contract("Cloud plan", date(2026, 6, 30))
    world.dispatch()
    sent = {(d["kind"], d["recipient"]) for d in world.deliveries(record_id=record)}
    assert ("notify", "alice@acme.test") in sent and ("notify", "bob@acme.test") in sent
    assert [d["payload"]["subject"] for d in world.deliveries(record_id=record, recipient="bob@acme.test")] \
        == ["Cloud plan for Bob"]
    [task] = [d for d in world.deliveries(record_id=record) if d["kind"] == "create_task"]
    assert task["recipient"] == world.users["bob@acme.test"]


def test_an_owner_without_a_manager_is_noted_in_the_history(world: World):
    world.publish(escalate=ESCALATE)
    record = world.contract("Cloud plan", date(2026, 6, 30))
    [run] = world.runs(record_id=record)
    assert run["outcome"] == "fired" and "owner_id has no active manager to tell" in (run["reason"] or "")
    assert {d["recipient"] for d in world.deliveries(record_id=record) if d["kind"] == "notify"} == {"alice@acme.test"}


def test_manager_of_names_a_field_checked_at_publish(world: World):
    broken = copy.deepcopy(ESCALATE)
    broken["actions"][0]["to"] = [{"manager_of": "owner"}]
    with pytest.raises(MetadataInvalid) as refused:
        world.publish(escalate=broken)
    assert any(e.path == "$.actions[0].to[0].manager_of" for e in refused.value.errors), refused.value.errors
