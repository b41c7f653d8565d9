"""The registry of action types: it names every type the metadata language has, the dispatcher
finds each row's type by its `kind` (an unknown or unavailable one is a dead letter saying why),
a task notifies its assignee through the in-app channel, and a template sees the names publish
checks it against."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import select

from tests.runtime.automation.world import REMINDER, SHANGHAI, START, World
from trellis.metadata.templates import RULE_TEMPLATE_NAMES
from trellis.platform.ids import new_id
from trellis.runtime.automation.actions import ACTIONS, Firing, PlanContext, UnknownActionType, action_type
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.identity.people import People
from trellis.runtime.inbox.tables import tasks


def _meta_schema_action_types() -> set[str]:
    schema = json.loads(files("trellis.metadata").joinpath("meta_schemas/workflow_rule.schema.json").read_text())
    return set(schema["$defs"]["action"]["properties"]["type"]["enum"])


def test_the_registry_has_every_action_type_of_the_metadata_language():
    assert set(ACTIONS) == _meta_schema_action_types()
    assert {name for name, t in ACTIONS.items() if not t.after_save} == {"set_fields", "reject"}
    assert {name for name, t in ACTIONS.items() if t.atomic} == \
        {"update_record", "create_record", "create_task", "start_approval"}
    with pytest.raises(UnknownActionType, match="no action type 'notfy'.*did you mean 'notify'"):
        action_type("notfy")


def _ledger_row(world: World, kind: str, payload: dict[str, Any]) -> str:
    """A pending ledger row written as a firing would, without a rule that plans it."""
    now = world.clock()
    run_id, delivery_id = new_id(), new_id()
    with world.db.write() as conn:
        conn.execute(workflow_runs.insert().values(
            id=run_id, rule="legacy", release=1, object="contract", record_id=run_id, trigger="created", step="",
            anchor=None, due_at=now, fired_at=now, outcome="fired", reason=None))
        conn.execute(deliveries.insert().values(
            id=delivery_id, run_id=run_id, rule="legacy", record_id=run_id, step="", due_at=now, action=0, kind=kind,
            channel="", recipient="", payload=json.dumps(payload), status="pending", attempts=0,
            next_attempt_at=now, claimed_until=None, last_error=None, created_at=now, sent_at=None))
    return delivery_id


def test_start_approval_of_a_process_that_is_gone_is_a_dead_letter(world: World):
    """A rule started a process a later release removed: there is nothing to start."""
    world.publish()
    _ledger_row(world, "start_approval", {"process": "big_deal", "object": "contract", "record_id": "",
                                          "submitter": "system"})
    assert world.dispatch().dead == 1
    dead, = world.deliveries()
    assert dead["attempts"] == 1
    assert dead["last_error"].startswith("approval process 'big_deal' did not start: no such approval process")


def test_a_row_of_an_unknown_or_before_save_type_is_a_dead_letter(world: World):
    world.publish()
    _ledger_row(world, "fax", {})
    _ledger_row(world, "set_fields", {})
    assert world.dispatch().dead == 2
    reasons = sorted(d["last_error"] for d in world.deliveries())
    assert reasons[0].startswith("no action type 'fax' (action types: set_fields, reject, ")
    assert reasons[1] == "set_fields runs before a save and has nothing to deliver"


def test_a_task_notifies_its_assignee_through_the_in_app_channel(world: World):
    world.publish(created={"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": [
        {"type": "create_task", "title": "Check {{ record.name }}", "assignee": {"user_field": "owner_id"}}]})
    world.contract("Cloud plan", date(2026, 6, 30))
    assert world.dispatch().sent == 1
    ledger, = world.deliveries()
    assert (ledger["kind"], ledger["channel"], ledger["recipient"]) == \
        ("create_task", "", world.users["alice@acme.test"])
    with world.db.read() as conn:
        task, = conn.execute(select(tasks)).mappings().all()
    note, = world.notifications()
    assert task["delivery_id"] == note["delivery_id"] == ledger["id"]  # the channel's guard keys on it
    assert (note["user_id"], note["title"], note["created_at"]) == \
        (world.users["alice@acme.test"], "Check Cloud plan", world.clock())


def test_a_template_sees_the_names_publish_checks_it_against(world: World):
    """`RULE_TEMPLATE_NAMES` is what publish lets a rule's template use; planning gives exactly it."""
    registry = world.publish(reminder=REMINDER)
    rule = registry.automation.rules["reminder"]
    with world.db.read() as conn:
        ctx = PlanContext(registry, EvaluationContext(SHANGHAI, START), "zh-CN", People(conn), depth=0)
        context = ctx.template_context(Firing(rule, {"id": "c1"}, {"account": None}, "date", START, offset=-7), None)
    assert set(context) == RULE_TEMPLATE_NAMES
