"""The simulator (who would approve this?) and `trellis approvals …`, on SQLite and PostgreSQL:
steps run or skipped with the condition's value, approvers after delegations, people away,
escalation times; nothing is written."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import Cli
from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from trellis.platform.settings import Settings
from trellis.runtime.access import Actor
from trellis.runtime.approvals.delegations import delegate
from trellis.runtime.approvals.simulator import Simulation, simulate
from trellis.runtime.approvals.tables import approval_events, approval_requests, approval_tasks
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.errors import InvalidInput

ESCALATING = copy.deepcopy(DISCOUNT)
ESCALATING["steps"][0]["escalation"] = {"after_hours": 24, "action": "reassign", "to": {"role": "finance"}}
ESCALATING["steps"][0]["reminder_hours"] = 4


def run(world: ApprovalWorld, record: str | None, values: dict[str, object] | None = None) -> Simulation:
    assert world.registry is not None
    return simulate(world.db, world.registry, Actor.system(), "contract", record, values,
                    timezone="Asia/Shanghai", clock=world.clock)


def written(world: ApprovalWorld) -> int:
    with world.db.read() as conn:
        return sum(conn.execute(select(func.count()).select_from(t)).scalar() or 0
                   for t in (approval_requests, approval_tasks, approval_events, deliveries))


def test_it_says_who_would_approve_and_which_steps_are_skipped(world: ApprovalWorld) -> None:
    world.publish(discount=ESCALATING)
    small = world.contract(discount=15)
    found = run(world, small)
    assert (found.process, found.entry_condition, found.entry_condition_met, found.submitter) == \
        ("discount", "discount > 10", True, "rep@acme.test")
    manager, vp = found.steps
    assert (manager.runs, [a.email for a in manager.approvers], manager.mode, manager.needed) == \
        (True, ["boss@acme.test"], "any", 1)
    assert manager.escalation_at == world.clock.now + timedelta(hours=24)
    assert manager.reminder_at == world.clock.now + timedelta(hours=4)
    assert (vp.runs, vp.condition, vp.condition_value, vp.approvers) == (False, "discount > 20", False, ())
    bigger = run(world, small, {"discount": 30})  # draft values over the record's
    assert bigger.steps[1].runs and [a.email for a in bigger.steps[1].approvers] == ["vp@acme.test"]
    draft = run(world, None, {"discount": 5, "owner_id": world.ids["rep@acme.test"]})
    assert draft.entry_condition_met is False
    assert written(world) == 0


def test_delegates_and_people_away_are_shown(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    now = world.clock.now
    delegate(world.db, world.actor("boss@acme.test"), "boss@acme.test", "fin1@acme.test", now, now + timedelta(days=2))
    delegate(world.db, world.actor("vp@acme.test"), "vp@acme.test", "fin2@acme.test", now, now + timedelta(days=2))
    world.users.set_active("fin2@acme.test", False)
    manager, vp = run(world, record).steps
    assert [(a.email, a.stands_in_for) for a in manager.approvers] == [("fin1@acme.test", "boss@acme.test")]
    assert vp.away == ("vp@acme.test",) and [a.email for a in vp.approvers] == ["vp@acme.test"]


def test_a_bad_question_gets_a_clear_answer(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    with pytest.raises(InvalidInput) as nothing:
        run(world, None)
    assert nothing.value.problems[0].path == "id"
    assert world.registry is not None
    with pytest.raises(InvalidInput) as unknown:
        simulate(world.db, world.registry, Actor.system(), "contract", None, {"discount": 1}, process="discont")
    assert "processes for contract: discount" in unknown.value.problems[0].message
    with pytest.raises(InvalidInput) as draft:
        run(world, None, {"discont": 30, "discount": "lots"})
    assert {(p.path, "'discount'" in p.message or "expected" in p.message) for p in draft.value.problems} == {
        ("values.discont", True), ("values.discount", True)}


def test_draft_values_are_read_as_input_is(world: ApprovalWorld) -> None:
    """Text from a form or a command line means what it would mean saved: "30" is thirty."""
    world.publish(discount=DISCOUNT)
    found = run(world, None, {"discount": "30", "owner_id": world.ids["rep@acme.test"]})
    assert found.entry_condition_met and [step.runs for step in found.steps] == [True, True]


def test_the_cli_lists_shows_simulates_and_delegates(world: ApprovalWorld, settings: Settings,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(settings, capsys)
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    out = cli.ok("approvals", "delegate", "--tenant", "acme", "boss@acme.test", "fin1@acme.test",
                 "--from", "2020-01-01T00:00", "--to", "2099-01-01T00:00")
    assert "fin1@acme.test approves for boss@acme.test (every approval)" in out
    out = cli.ok("approvals", "simulate", "--tenant", "acme", "contract", record)
    assert "1. Manager: any, 1 of 1: fin1@acme.test (for boss@acme.test)" in out
    assert "2. vp: any, 1 of 1: vp@acme.test" in out
    out = cli.ok("approvals", "simulate", "--tenant", "acme", "contract", record, "--values", '{"discount": 12}')
    assert "2. vp: skipped (discount > 20 is false)" in out
    request = world.submit(record)
    assert request.id in cli.ok("approvals", "list", "--tenant", "acme", "--status", "pending")
    shown = cli.ok("approvals", "show", "--tenant", "acme", request.id)
    assert "discount (release 1) on contract" in shown and "submitted" in shown
    code, _, err = cli("approvals", "simulate", "--tenant", "acme", "contract", record, "--values", "{oops")
    assert code == 1 and "--values is not JSON" in err
