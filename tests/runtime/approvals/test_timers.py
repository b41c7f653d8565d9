"""Reminders and escalations as timed firings, with an injected clock, on SQLite and PostgreSQL:
each happens once however many workers run it, and the worker runs them every tick."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.runtime.approvals.test_races import race
from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from trellis.runtime.errors import Forbidden
from trellis.runtime.services import TenantServices
from trellis.runtime.worker import Worker


def escalating(action: str, **extra: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DISCOUNT)
    doc["steps"][0]["escalation"] = {"after_hours": 24, "action": action, **extra}
    return doc


def test_a_reminder_goes_out_once_per_interval(world: ApprovalWorld) -> None:
    doc = copy.deepcopy(DISCOUNT)
    doc["steps"][0]["reminder_hours"] = 4
    world.publish(discount=doc)
    view = world.submit(world.contract(discount=25))
    world.clock.advance(hours=3)
    assert world.engine().run_timers().reminded == 0
    world.clock.advance(hours=2)
    assert world.engine().run_timers().reminded == 1
    assert world.engine().run_timers().reminded == 0
    world.clock.advance(hours=4)
    assert world.engine().run_timers().reminded == 1
    reminders = [d for d in world.ledger() if d["rule"] == "discount.r0"]
    assert [d["recipient"] for d in reminders] == [world.ids["boss@acme.test"]] * 2
    final = world.engine().get(world.actor("admin@acme.test"), view.id)
    assert [e.event for e in final.events].count("reminded") == 2


def test_escalation_reassigns_the_step_after_its_timeout(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("reassign", to={"role": "finance"}))
    view = world.submit(world.contract(discount=25))
    world.clock.advance(hours=23)
    assert world.engine().run_timers().escalated == 0
    world.clock.advance(hours=2)
    assert world.engine().run_timers().escalated == 1
    assert world.engine().run_timers().escalated == 0
    view = world.engine().get(world.actor("admin@acme.test"), view.id)
    assert world.asked(view) == ["fin1@acme.test", "fin2@acme.test", "fin3@acme.test"]
    with pytest.raises(Forbidden):
        world.engine().approve(world.actor("boss@acme.test"), view.id)
    assert world.engine().approve(world.actor("fin2@acme.test"), view.id).step == 1


def test_escalation_can_reject(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("reject"))
    record = world.contract(discount=25)
    view = world.submit(record)
    world.clock.advance(hours=25)
    assert world.engine().run_timers().escalated == 1
    assert world.engine().get(world.actor("admin@acme.test"), view.id).status == "rejected"
    assert world.get(record)["status"] == "rejected"


def test_escalation_can_approve_the_step(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("approve"))
    view = world.submit(world.contract(discount=25))
    world.clock.advance(hours=25)
    world.engine().run_timers()
    view = world.engine().get(world.actor("admin@acme.test"), view.id)
    assert (view.step, world.asked(view)) == (1, ["vp@acme.test"])


def test_escalation_can_notify_someone(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("notify", to={"user": "fin1@acme.test"}))
    view = world.submit(world.contract(discount=25))
    world.clock.advance(hours=25)
    assert world.engine().run_timers().escalated == 1
    notes = [d for d in world.ledger() if d["rule"] == "discount.e0"]
    assert [d["recipient"] for d in notes] == [world.ids["fin1@acme.test"]]
    assert world.asked(world.engine().get(world.actor("admin@acme.test"), view.id)) == ["boss@acme.test"]


def test_two_workers_escalate_once(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("reassign", to={"role": "finance"}))
    world.submit(world.contract(discount=25))
    world.clock.advance(hours=25)
    reports = race(lambda: world.engine().run_timers(), lambda: world.engine().run_timers())
    assert sum(r.escalated for r in reports) == 1, reports


def test_the_worker_runs_them_every_tick(world: ApprovalWorld) -> None:
    world.publish(discount=escalating("reject"))
    world.submit(world.contract(discount=25))
    world.clock.advance(hours=25)
    report = Worker(TenantServices(world.installation), ["acme"], clock=world.clock).tick()
    assert report.approvals["acme"].escalated == 1
