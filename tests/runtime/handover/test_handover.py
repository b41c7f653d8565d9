"""Handover: records, queued deliveries, pending approvals and open tasks move together in one
transaction; the dry run changes nothing; bad requests and a failure half-way leave all as it was."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from tests.runtime.handover.conftest import ON_CREATE
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.approvals.tables import approval_events, approval_requests, approval_tasks
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.errors import Forbidden, InvalidInput
from trellis.runtime.handover import Handover, HandoverRequest, moves
from trellis.runtime.identity import UserService
from trellis.runtime.inbox.tables import tasks
from trellis.runtime.records.tables import audit_log, field_history
from trellis.runtime.releases import MetadataStore

BOSS, FIN = "boss@acme.test", "fin1@acme.test"


def handover(world: ApprovalWorld) -> Handover:
    assert world.registry is not None
    return Handover(world.db, world.registry, ZoneInfo("Asia/Shanghai"), world.clock)


def setup_work(world: ApprovalWorld) -> dict[str, Any]:
    """Boss owns two contracts and an account (queued reminders and tasks about the contracts),
    waits to approve the rep's discount and has an open inbox task; the rep owns one contract."""
    system = Actor.system()
    account = world.records().create(system, "account", {"name": "Acme", "owner_id": world.ids[BOSS]})["id"]
    mine = [world.contract(owner=BOSS, name=f"Boss deal {i}") for i in range(2)]
    rep_deal = world.contract(discount=15)
    request = world.submit(rep_deal)
    with world.db.write() as conn:
        conn.execute(insert(tasks).values(id=new_id(), title="Follow up", description="", assignee_id=world.ids[BOSS],
                                          object="contract", record_id=mine[0], due_date=None, status="open",
                                          delivery_id=None, created_at=world.clock(), completed_at=None))
    return {"account": account, "mine": mine, "rep_deal": rep_deal, "request": request.id}


def snapshot(world: ApprovalWorld) -> dict[str, Any]:
    """Every row handover may touch, to compare before and after."""
    out: dict[str, Any] = {}
    with world.db.read() as conn:
        for name in ("account", "contract"):
            table = world.registry.tables[name]  # type: ignore[union-attr]
            out[name] = sorted(tuple(r) for r in conn.execute(select(table)))
        for table in (deliveries, approval_tasks, approval_events, approval_requests, tasks, field_history, audit_log):
            out[table.name] = sorted(tuple(str(v) for v in r) for r in conn.execute(select(table)))
    return out


def queued(world: ApprovalWorld) -> list[dict[str, Any]]:
    return [r for r in world.ledger() if r["status"] == "pending"]


def test_everything_moves_together(world: ApprovalWorld) -> None:
    work = setup_work(world)
    boss, fin = world.ids[BOSS], world.ids[FIN]
    result = handover(world).run(Actor.system(), HandoverRequest(BOSS, FIN))

    assert {m.object: m.records for m in result.objects} == {"account": 1, "contract": 2}
    assert (result.deliveries, result.approval_tasks, result.tasks) == (6, 1, 1)
    records = world.records()
    for record_id in work["mine"]:
        moved = records.get(Actor.system(), "contract", record_id)
        assert (moved["owner_id"], moved["version"]) == (fin, 2)
        assert [(h["field"], h["old_value"], h["new_value"]) for h in records.history(Actor.system(), "contract", record_id)
                ][-1] == ("owner_id", boss, fin)
    assert records.get(Actor.system(), "account", work["account"])["owner_id"] == fin
    assert records.get(Actor.system(), "contract", work["rep_deal"])["owner_id"] == world.ids["rep@acme.test"]

    ledger = queued(world)
    owner_rows = [r for r in ledger if r["record_id"] in work["mine"] and r["action"] in (0, 1, 2)]
    assert {(r["channel"], r["recipient"]) for r in owner_rows} == {("in_app", fin), ("email", FIN), ("", fin)}
    assert all(json.loads(r["payload"]).get("assignee_id") in (None, fin) for r in owner_rows)
    assert all(json.loads(r["payload"]).get("recipient_name") in (None, "Fay") for r in owner_rows if r["channel"])
    # addressed to the boss as a manager (a role), not as the owner: stays
    assert sum(1 for r in ledger if r["action"] == 3 and r["recipient"] == boss) == 3

    view = world.engine().get(Actor.system(), work["request"])
    assert world.asked(view) == [FIN]
    assert [t.status for t in view.tasks if t.approver_id == boss] == ["reassigned"]
    assert [(e.event, e.detail["from"], e.detail["to"]) for e in view.events if e.event == "reassigned"] == [
        ("reassigned", boss, fin)]
    decided = world.engine().approve(world.actor(FIN), work["request"], "ok")
    assert decided.status == "approved"

    with world.db.read() as conn:
        assert conn.execute(select(tasks.c.assignee_id)).scalars().all() == [fin]
        events = conn.execute(select(audit_log).where(audit_log.c.action == "handover")).mappings().all()
    assert len(events) == 1 and events[0]["record_id"] == result.id
    assert json.loads(events[0]["changes"])["objects"] == {"account": 1, "contract": 2}


def test_dry_run_reports_and_changes_nothing(world: ApprovalWorld) -> None:
    work = setup_work(world)
    before = snapshot(world)
    result = handover(world).run(Actor.system(), HandoverRequest(BOSS, FIN, dry_run=True))
    assert result.dry_run and result.id is None
    contract = next(m for m in result.objects if m.object == "contract")
    assert (contract.records, sorted(contract.sample)) == (2, sorted(work["mine"]))
    assert (result.deliveries, result.approval_tasks, result.tasks) == (6, 1, 1)
    assert snapshot(world) == before


def test_a_failure_half_way_moves_nothing(world: ApprovalWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    setup_work(world)
    before = snapshot(world)

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")
    monkeypatch.setattr(moves, "move_records", broken)  # after deliveries, approvals and tasks moved
    with pytest.raises(RuntimeError, match="disk full"):
        handover(world).run(Actor.system(), HandoverRequest(BOSS, FIN))
    assert snapshot(world) == before


def test_only_the_chosen_objects_and_filter_move(world: ApprovalWorld) -> None:
    work = setup_work(world)
    result = handover(world).run(Actor.system(), HandoverRequest(
        BOSS, FIN, objects=("contract",), where={"name": {"_eq": "Boss deal 1"}}))
    assert [(m.object, m.records) for m in result.objects] == [("contract", 1)]
    assert (result.deliveries, result.approval_tasks, result.tasks) == (3, 0, 0)  # the rep's deal is not chosen
    records = world.records()
    owners = {i: records.get(Actor.system(), "contract", i)["owner_id"] for i in work["mine"]}
    assert owners == {work["mine"][0]: world.ids[BOSS], work["mine"][1]: world.ids[FIN]}
    assert records.get(Actor.system(), "account", work["account"])["owner_id"] == world.ids[BOSS]


def test_the_receiver_already_queued_gets_one_message(world: ApprovalWorld) -> None:
    """A rule tells the owner and the managers: the VP (a manager) already has the boss's message
    about each contract, so the boss's copy is dropped (dead, saying why), not sent twice."""
    both = {"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": [
        {"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}, {"role": "manager"}],
         "subject": "New", "body": "x"}]}
    world.publish(rules={"on_create": ON_CREATE, "owner_and_managers": both}, discount=DISCOUNT)
    setup_work(world)
    result = handover(world).run(Actor.system(), HandoverRequest(BOSS, "vp@acme.test", objects=("contract",)))
    assert (result.deliveries, result.deliveries_dropped) == (6, 2)
    vp = world.ids["vp@acme.test"]
    rows = [r for r in world.ledger() if r["rule"] == "owner_and_managers"]
    assert sorted((r["recipient"] == vp, r["status"]) for r in rows) == [
        (False, "dead"), (False, "dead"),  # the boss's, as owner of the two contracts
        (False, "pending"), (False, "pending"),  # about the rep's deal: to the rep, to the boss as a manager
        (True, "pending"), (True, "pending"), (True, "pending")]
    assert all("already receives this" in r["last_error"] for r in rows if r["status"] == "dead")


@pytest.mark.parametrize(("to", "path", "message"), [
    (BOSS, "to", "is the user handing over"),
    ("nobody@acme.test", "to", "no user with email"),
    ("stranger@other.test", "to", "in tenant acme"),
])
def test_refused_receivers(world: ApprovalWorld, to: str, path: str, message: str) -> None:
    world.installation.create_tenant("other")
    other = world.installation.database("other")
    UserService(other, MetadataStore(other)).create_user("stranger@other.test")
    setup_work(world)
    before = snapshot(world)
    with pytest.raises(InvalidInput) as raised:
        handover(world).run(Actor.system(), HandoverRequest(BOSS, to))
    assert raised.value.problems[0].path == path and message in raised.value.problems[0].message
    assert snapshot(world) == before


def test_refused_inactive_receiver_unknown_object_and_non_admin(world: ApprovalWorld) -> None:
    setup_work(world)
    world.users.set_active(FIN, False)
    with pytest.raises(InvalidInput, match="deactivated"):
        handover(world).run(Actor.system(), HandoverRequest(BOSS, FIN))
    with pytest.raises(InvalidInput) as raised:
        handover(world).run(Actor.system(), HandoverRequest(BOSS, "vp@acme.test", objects=("contracts",)))
    assert "did you mean 'contract'" in raised.value.problems[0].message
    with pytest.raises(Forbidden):
        handover(world).run(world.actor("rep@acme.test"), HandoverRequest(BOSS, "vp@acme.test"))


def test_a_deactivated_leaver_can_hand_over(world: ApprovalWorld) -> None:
    setup_work(world)
    world.users.set_active(BOSS, False)
    result = handover(world).run(Actor.system(), HandoverRequest(BOSS, FIN))
    assert result.records == 3 and not result.notes
