"""The approval engine on SQLite and PostgreSQL: steps, modes, manager chains, skipped steps,
the self-approval guard, recall, reassignment, delegation, version pinning and every refusal."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from trellis.runtime.access import Actor
from trellis.runtime.approvals.delegations import delegate
from trellis.runtime.errors import Conflict, Forbidden, InvalidInput, NotFound


def process(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DISCOUNT)
    doc.update(changes)
    return doc


def events(view: Any) -> list[tuple[str, int | None]]:
    return [(e.event, e.step) for e in view.events]


def test_a_manager_then_the_managers_manager_approve(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    view = world.submit(record)
    assert (view.status, view.step, world.asked(view)) == ("pending", 0, ["boss@acme.test"])
    assert view.release == world.registry.release  # type: ignore[union-attr]
    view = world.engine().approve(world.actor("boss@acme.test"), view.id, "fine by me")
    assert (view.step, world.asked(view)) == (1, ["vp@acme.test"])
    view = world.engine().approve(world.actor("vp@acme.test"), view.id)
    assert view.status == "approved" and view.step is None
    assert events(view) == [("submitted", None), ("step_started", 0), ("approved", 0), ("step_approved", 0),
                            ("step_started", 1), ("approved", 1), ("step_approved", 1), ("approved", None)]
    assert world.get(record)["status"] == "approved"
    assert view.events[2].detail == {"comment": "fine by me"}
    # unlocked: the rep may edit again
    world.records().update(world.actor("rep@acme.test"), "contract", record, {"note": "signed"})


def test_a_step_whose_condition_is_false_is_skipped_and_says_why(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    view = world.submit(world.contract(discount=15))
    view = world.engine().approve(world.actor("boss@acme.test"), view.id)
    assert view.status == "approved"
    skipped = [e for e in view.events if e.event == "step_skipped"]
    assert [(e.step, e.detail) for e in skipped] == [(1, {"condition": "discount > 20", "value": False})]


def test_a_rejection_needs_a_comment_and_applies_on_rejected(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    view = world.submit(record)
    with pytest.raises(InvalidInput) as missing:
        world.engine().reject(world.actor("boss@acme.test"), view.id, "  ")
    assert [p.path for p in missing.value.problems] == ["comment"]
    view = world.engine().reject(world.actor("boss@acme.test"), view.id, "too generous")
    assert view.status == "rejected"
    after = world.get(record)
    assert (after["status"], float(after["discount"])) == ("rejected", 0.0)
    with pytest.raises(Conflict, match="already rejected"):
        world.engine().approve(world.actor("boss@acme.test"), view.id)


def test_who_may_decide_and_when(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    view = world.submit(world.contract(discount=25))
    with pytest.raises(Forbidden, match="not an approver of step 'manager'"):
        world.engine().approve(world.actor("vp@acme.test"), view.id)
    with pytest.raises(Forbidden):
        world.engine().approve(world.actor("admin@acme.test"), view.id)
    world.engine().approve(world.actor("boss@acme.test"), view.id)
    with pytest.raises(Forbidden, match="step 'vp'"):  # the manager's step is over
        world.engine().approve(world.actor("boss@acme.test"), view.id)
    with pytest.raises(NotFound):
        world.engine().approve(world.actor("vp@acme.test"), "no-such-request")


def test_submitting_is_refused_with_a_reason(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    small = world.contract(discount=5)
    with pytest.raises(InvalidInput, match="does not meet the entry condition"):
        world.submit(small)
    record = world.contract(discount=25)
    with pytest.raises(Forbidden, match="submitters are owner"):
        world.submit(record, by="boss@acme.test")
    with pytest.raises(InvalidInput) as unknown:
        world.engine().submit(world.actor("rep@acme.test"), "contract", record, "discont")
    assert unknown.value.problems[0].path == "process"
    assert unknown.value.problems[0].message.endswith("; did you mean 'discount'?")
    world.submit(record)
    with pytest.raises(Conflict, match="already waits for approval"):
        world.submit(record)


def test_the_record_is_locked_on_every_write_path(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    world.submit(record)
    records = world.records()
    with pytest.raises(InvalidInput, match="locked while it waits for approval"):
        records.update(world.actor("rep@acme.test"), "contract", record, {"note": "sneaky"})
    with pytest.raises(InvalidInput, match="locked"):  # automation acts as the system: refused too
        records.update(Actor.system(), "contract", record, {"note": "rule"})
    with pytest.raises(Conflict, match="recall the request before deleting it"):
        records.delete(Actor.system(), "contract", record)
    records.update(world.actor("admin@acme.test"), "contract", record, {"note": "admin fix"})
    assert world.get(record)["note"] == "admin fix"


def test_a_field_lock_locks_only_those_fields(world: ApprovalWorld) -> None:
    world.publish(discount=process(lock={"fields": ["discount", "amount"]}))
    record = world.contract(discount=25)
    world.submit(record)
    rep = world.actor("rep@acme.test")
    world.records().update(rep, "contract", record, {"note": "fine"})
    with pytest.raises(InvalidInput) as refused:
        world.records().update(rep, "contract", record, {"discount": 50})
    assert [p.path for p in refused.value.problems] == ["discount"]


def test_recall_unlocks_and_runs_on_recalled(world: ApprovalWorld) -> None:
    world.publish(discount=process(on_recalled=[{"type": "set_fields", "values": {"note": "'recalled'"}}]))
    record = world.contract(discount=25)
    view = world.submit(record)
    with pytest.raises(Forbidden, match="only the submitter"):
        world.engine().recall(world.actor("boss@acme.test"), view.id)
    view = world.engine().recall(world.actor("rep@acme.test"), view.id)
    assert view.status == "recalled" and world.get(record)["note"] == "recalled"
    with pytest.raises(Conflict, match="already recalled"):
        world.engine().approve(world.actor("boss@acme.test"), view.id)
    world.submit(record)  # a recalled request leaves the record free to submit again


def test_recall_can_be_forbidden(world: ApprovalWorld) -> None:
    world.publish(discount=process(allow_recall=False))
    view = world.submit(world.contract(discount=25))
    with pytest.raises(Forbidden, match="does not allow recall"):
        world.engine().recall(world.actor("rep@acme.test"), view.id)


@pytest.mark.parametrize(("mode", "decisions"), [("all", 3), ({"at_least": 2}, 2), ("any", 1)])
def test_each_mode_counts_each_approver_once(world: ApprovalWorld, mode: Any, decisions: int) -> None:
    world.publish(discount=process(steps=[{"name": "finance", "approvers": [{"role": "finance"}], "mode": mode}]))
    view = world.submit(world.contract(discount=25))
    assert world.asked(view) == ["fin1@acme.test", "fin2@acme.test", "fin3@acme.test"]
    for n, email in enumerate(["fin1@acme.test", "fin2@acme.test", "fin3@acme.test"][:decisions], start=1):
        view = world.engine().approve(world.actor(email), view.id)
        assert view.status == ("approved" if n == decisions else "pending")
    if decisions < 3:  # the others' tasks are closed: they can no longer decide
        with pytest.raises(Conflict, match="already approved"):
            world.engine().approve(world.actor("fin3@acme.test"), view.id)


def test_the_submitter_never_approves_their_own_request(world: ApprovalWorld) -> None:
    world.publish(discount=process(submitters=["update_access"],
                                   steps=[{"name": "managers", "approvers": [{"role": "manager"}]}]))
    own = world.contract(discount=25, owner="boss@acme.test")
    view = world.submit(own, by="boss@acme.test")
    assert world.asked(view) == ["vp@acme.test"]
    assert "the submitter may not approve their own request" in view.events[1].detail["notes"]


def test_a_submitter_who_is_the_only_approver_goes_to_their_manager(world: ApprovalWorld) -> None:
    world.publish(discount=process(submitters=["update_access"],
                                   steps=[{"name": "owner", "approvers": [{"user_field": "owner_id"}]}]))
    view = world.submit(world.contract(discount=25, owner="boss@acme.test"), by="boss@acme.test")
    assert world.asked(view) == ["vp@acme.test"]


def test_a_chain_without_a_manager_falls_back_to_the_admins(world: ApprovalWorld) -> None:
    world.publish(discount=process(submitters=["update_access"]))
    view = world.submit(world.contract(discount=25, owner="vp@acme.test"), by="vp@acme.test")
    assert world.asked(view) == ["admin@acme.test"]
    assert "the submitter has no manager" in view.events[1].detail["notes"]


def test_reassign_is_for_admins(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    view = world.submit(world.contract(discount=25))
    with pytest.raises(Forbidden):
        world.engine().reassign(world.actor("boss@acme.test"), view.id, "fin1@acme.test")
    view = world.engine().reassign(world.actor("admin@acme.test"), view.id, "fin1@acme.test")
    assert world.asked(view) == ["fin1@acme.test"]
    with pytest.raises(Forbidden):
        world.engine().approve(world.actor("boss@acme.test"), view.id)
    assert world.engine().approve(world.actor("fin1@acme.test"), view.id).step == 1


def test_a_delegate_approves_only_within_the_delegations_dates(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    start = world.clock.now
    delegate(world.db, world.actor("boss@acme.test"), "boss@acme.test", "fin1@acme.test",
             start + timedelta(days=1), start + timedelta(days=3))
    before = world.submit(world.contract(discount=25))
    assert world.asked(before) == ["boss@acme.test"]
    world.clock.advance(days=2)
    during = world.submit(world.contract(discount=25))
    assert world.asked(during) == ["fin1@acme.test"]
    assert during.tasks[0].delegated_from == world.ids["boss@acme.test"]
    world.clock.advance(days=2)
    after = world.submit(world.contract(discount=25))
    assert world.asked(after) == ["boss@acme.test"]


def test_a_request_finishes_under_the_release_it_started_in(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    view = world.submit(record)
    pinned = view.release
    edited = process(steps=[{"name": "cfo", "approvers": [{"user": "fin1@acme.test"}]}],
                     on_approved=[{"type": "set_fields", "values": {"note": "'new rules'"}}])
    world.publish(discount=edited)
    view = world.engine().approve(world.actor("boss@acme.test"), view.id)
    assert (view.release, world.asked(view)) == (pinned, ["vp@acme.test"])  # the old second step
    world.publish()  # the process is removed altogether
    view = world.engine().approve(world.actor("vp@acme.test"), view.id)
    assert view.status == "approved"
    after = world.get(record)
    assert (after["status"], after.get("note")) == ("approved", None)


def test_approvers_are_asked_in_app_through_the_ledger(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    world.submit(world.contract(discount=25))
    asked = [(d["kind"], d["channel"], d["recipient"]) for d in world.ledger()]
    assert asked == [("notify", "in_app", world.ids["boss@acme.test"])]
