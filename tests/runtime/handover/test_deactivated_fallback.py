"""After a leaver is deactivated, rules addressed to them through a user field reach their
manager instead, and the run history says so; with no active manager, nobody, and it says that."""

from __future__ import annotations

from sqlalchemy import select

from tests.runtime.approvals.world import ApprovalWorld
from trellis.runtime.automation.tables import workflow_runs


def reason(world: ApprovalWorld, record_id: str) -> str | None:
    with world.db.read() as conn:
        return conn.execute(select(workflow_runs.c.reason).where(workflow_runs.c.record_id == record_id)).scalar_one()


def test_a_deactivated_owner_falls_back_to_their_manager(world: ApprovalWorld) -> None:
    world.users.set_active("rep@acme.test", False)
    deal = world.contract(owner="rep@acme.test")
    owner_rows = [r for r in world.ledger() if r["record_id"] == deal and r["action"] in (0, 1, 2)]
    assert {(r["channel"], r["recipient"]) for r in owner_rows} == {
        ("in_app", world.ids["boss@acme.test"]), ("email", "boss@acme.test"), ("", world.ids["boss@acme.test"])}
    assert reason(world, deal) == "owner_id rep@acme.test is deactivated: their manager boss@acme.test stands in"


def test_no_active_manager_means_nobody_and_the_history_says_so(world: ApprovalWorld) -> None:
    world.users.set_active("vp@acme.test", False)
    deal = world.contract(owner="vp@acme.test")
    assert not [r for r in world.ledger() if r["record_id"] == deal and r["action"] in (0, 1)]
    assert reason(world, deal) == "owner_id vp@acme.test is deactivated: they have no active manager"
