"""`start_approval` from a workflow rule: a saved contract with a big discount starts the
process once, with its owner as the submitter, and the manager is asked in-app."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from tests.runtime.automation.world import SHANGHAI
from trellis.platform.outbound import OutboundPolicy
from trellis.runtime.approvals.tables import approval_requests
from trellis.runtime.automation.dispatcher import Dispatcher, RetryPolicy
from trellis.runtime.inbox.tables import notifications
from trellis.runtime.services import write_hooks

BIG_DISCOUNT = {"object": "contract", "trigger": {"type": "record", "events": ["created", "updated"]},
                "condition": "discount > 10 and status == 'draft'",
                "actions": [{"type": "start_approval", "process": "discount"}]}


def dispatch(world: ApprovalWorld) -> None:
    assert world.registry is not None
    Dispatcher(world.db, world.registry, SHANGHAI, "en", world.clock, hooks=write_hooks(),
               secrets=world.installation.secrets, outbound=OutboundPolicy(),
               retry=RetryPolicy(max_attempts=2, base=timedelta(seconds=1))).run()


def requests(world: ApprovalWorld) -> list[dict[str, object]]:
    with world.db.read() as conn:
        return [dict(r) for r in conn.execute(select(approval_requests)).mappings()]


def test_a_rule_starts_the_process_once_and_the_manager_is_asked_in_app(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT, rules={"big_discount": BIG_DISCOUNT})
    record = world.contract(discount=25)
    dispatch(world)
    started, = requests(world)
    assert (started["record_id"], started["status"], started["submitted_by"]) == \
        (record, "pending", world.ids["rep@acme.test"])
    dispatch(world)  # the approver's message, planned when the request started
    with world.db.read() as conn:
        note, = conn.execute(select(notifications)).mappings().all()
    assert note["user_id"] == world.ids["boss@acme.test"]
    assert "Discount approval: Manager" in note["title"]
    dispatch(world)
    assert len(requests(world)) == 1


def test_a_record_that_no_longer_qualifies_is_a_dead_letter_saying_why(world: ApprovalWorld) -> None:
    world.publish(discount={**DISCOUNT, "entry_condition": "discount > 50"}, rules={"big_discount": BIG_DISCOUNT})
    world.contract(discount=25)
    dispatch(world)
    assert requests(world) == []
    dead = [d for d in world.ledger() if d["kind"] == "start_approval"]
    assert dead[0]["status"] == "dead"
    assert "approval process 'discount' did not start: the contract does not meet the entry condition" \
        in dead[0]["last_error"]
