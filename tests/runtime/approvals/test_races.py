"""Approvers acting at the same instant, in threads, on SQLite and PostgreSQL: one decision per
`any` step (the other approver gets a CONFLICT), each approver counted once in an `all` step,
and one pending request per record however many submit at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from trellis.runtime.errors import Conflict


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at once; each result or the exception it raised, in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - the race's outcome is what the test reads
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def with_step(world: ApprovalWorld, mode: Any, role: str) -> None:
    world.publish(discount={**DISCOUNT, "steps": [{"name": "deciders", "approvers": [{"role": role}], "mode": mode}]})


def test_two_approvers_of_an_any_step_give_one_decision(world: ApprovalWorld) -> None:
    with_step(world, "any", "manager")
    request = world.submit(world.contract(discount=25)).id
    results = race(*(lambda email=email: world.engine().approve(world.actor(email), request)
                     for email in ("boss@acme.test", "vp@acme.test")))
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1, results
    assert "already approved" in str(conflicts[0])
    final = world.engine().get(world.actor("admin@acme.test"), request)
    assert final.status == "approved"
    assert len([t for t in final.tasks if t.status == "approved"]) == 1
    assert [e.event for e in final.events].count("step_approved") == 1


def test_every_approver_of_an_all_step_is_counted_once(world: ApprovalWorld) -> None:
    with_step(world, "all", "finance")
    request = world.submit(world.contract(discount=25)).id
    emails = ("fin1@acme.test", "fin2@acme.test", "fin3@acme.test")
    results = race(*(lambda email=email: world.engine().approve(world.actor(email), request) for email in emails))
    assert not [r for r in results if isinstance(r, Exception)], results
    final = world.engine().get(world.actor("admin@acme.test"), request)
    assert final.status == "approved"
    assert sorted(t.status for t in final.tasks) == ["approved"] * 3
    assert world.get(final.record_id)["status"] == "approved"


def test_one_pending_request_per_record_however_many_submit(world: ApprovalWorld) -> None:
    world.publish(discount=DISCOUNT)
    record = world.contract(discount=25)
    results = race(*(lambda: world.submit(record) for _ in range(3)))
    assert sum(1 for r in results if isinstance(r, Conflict)) == 2, results
