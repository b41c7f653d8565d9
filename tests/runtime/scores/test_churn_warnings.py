"""Churn warnings fired by score changes, and rescoring on a watched change, through the worker
on both databases: the worker runs
a model when its schedule is due (once a night, not every tick), the band rule creates one task
when an account enters 风险 and none while it stays there, and a new one when it comes back after
recovering; a drop of 15 points or more outside 风险 warns too."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from tests.runtime.scores.world import MODEL, ScoreWorld
from trellis.runtime.access import Actor
from trellis.runtime.identity import UserService
from trellis.runtime.inbox.tables import tasks
from trellis.runtime.scores.tables import score_queue
from trellis.runtime.services import TenantServices
from trellis.runtime.worker import Worker

ENTERS_RISK: dict[str, Any] = {
    "object": "account", "trigger": {"type": "record", "events": ["updated"], "fields": ["health_band"]},
    "condition": "health_band == '风险'",
    "actions": [{"type": "create_task", "title": "流失预警：{{ record.name }} 进入风险", "assignee": {"user_field": "owner_id"}}]}
SHARP_DROP: dict[str, Any] = {
    "object": "account", "trigger": {"type": "record", "events": ["updated"], "fields": ["health_change"]},
    "condition": "health_change <= -15 and health_band != '风险'",
    "actions": [{"type": "create_task", "title": "健康度下降 {{ -record.health_change }} 分：{{ record.name }}",
                 "assignee": {"user_field": "owner_id"}}]}


def _titles(world: ScoreWorld) -> list[str]:
    with world.db.read() as conn:
        return list(conn.execute(select(tasks.c.title).order_by(tasks.c.created_at, tasks.c.id)).scalars())


def test_one_warning_per_episode_through_the_worker(world: ScoreWorld) -> None:
    world.publish(workflow_rule__enters_risk=ENTERS_RISK, workflow_rule__sharp_drop=SHARP_DROP)
    owner = UserService(world.db, world.store).create_user("owner@acme.test", name="Olive", roles=["admin"]).id
    account = str(world.records().create(Actor.system(), "account", {
        "name": "Acme", "seats": 10, "nps": 10, "owner_id": owner})["id"])
    world.usage(account, 9)
    worker = Worker(TenantServices(world.installation), ["acme"], clock=world.clock)

    def night(**changes: Any) -> int:
        if changes:
            world.records().update(Actor.system(), "account", account, changes)
        world.clock.advance(days=1)
        report = worker.tick()
        return len(report.scores["acme"])

    assert len(worker.tick().scores["acme"]) == 1  # never ran: runs at once
    assert len(worker.tick().scores["acme"]) == 0  # not again before 02:00 tomorrow
    assert world.get("account", account)["health_band"] == "健康"  # 40 + 20 + 10 + 20 = 90
    assert night(seats=100) == 1  # usage 0.09 -> 0 points: 0 + 20 + 10 + 20 = 50, a drop of 40
    assert _titles(world) == ["健康度下降 40 分：Acme"]
    assert night(nps=0) == 1  # 0 + 20 + 10 + 0 = 30: enters 风险
    assert world.get("account", account)["health_band"] == "风险"
    assert _titles(world)[1:] == ["流失预警：Acme 进入风险"]
    assert night() == 1 and night() == 1  # still 风险: no new warning
    assert len(_titles(world)) == 2
    assert night(seats=10) == 1  # recovers: 40 + 20 + 10 + 0 = 70, 关注
    assert night(seats=100) == 1  # back in 风险: a new episode, a new warning
    assert _titles(world)[2:] == ["流失预警：Acme 进入风险"]


def test_a_watched_field_change_is_rescored_on_the_next_pass(world: ScoreWorld) -> None:
    model = copy.deepcopy(MODEL)
    model["recompute_on_change"] = ["nps"]
    world.publish(model)
    changed, untouched = world.account("Changed", nps=10), world.account("Untouched", nps=10)
    worker = Worker(TenantServices(world.installation), ["acme"], clock=world.clock)
    assert [r.scored for r in worker.tick().scores["acme"]] == [2]  # the first scheduled run
    world.records().update(Actor.system(), "account", changed, {"nps": 0})
    world.records().update(Actor.system(), "account", untouched, {"seats": 11})  # not watched
    with world.db.read() as conn:
        assert list(conn.execute(select(score_queue.c.record_id)).scalars()) == [changed]
    world.clock.advance(minutes=1)
    reports = worker.tick().scores["acme"]  # the schedule is not due; the queue is
    assert [(r.scored, r.changed) for r in reports] == [(1, 1)]
    # usage blank (no rows): left out; p1 100, csat neutral 50, nps 0, each 20 of the 60 that count: 50
    assert world.get("account", changed)["health_score"] == 50
    with world.db.read() as conn:
        assert list(conn.execute(select(score_queue.c.record_id)).scalars()) == []


def test_a_rule_reads_the_score_before_the_run_with_previous(world: ScoreWorld) -> None:
    rule = {"object": "account", "trigger": {"type": "record", "events": ["updated"], "fields": ["health_score"]},
            "condition": "previous(health_score) - health_score >= 15",
            "actions": [{"type": "create_task", "title": "{{ record.name }}: {{ record.health_score }}",
                         "assignee": {"user_field": "owner_id"}}]}
    model = copy.deepcopy(MODEL)
    del model["change_field"]
    world.publish(model, workflow_rule__fell=rule)
    owner = UserService(world.db, world.store).create_user("owner@acme.test", name="Olive", roles=["admin"]).id
    account = str(world.records().create(Actor.system(), "account", {
        "name": "Acme", "seats": 10, "nps": 10, "owner_id": owner})["id"])
    world.usage(account, 9)
    world.run()  # 90: no previous score, nothing fires
    world.records().update(Actor.system(), "account", account, {"seats": 12})
    world.run()  # usage 0.75 -> 91.67 points x 40% = 36.67: 87, a fall of 3
    world.records().update(Actor.system(), "account", account, {"seats": 100})
    world.run()  # 50, a fall of 37
    worker = Worker(TenantServices(world.installation), ["acme"], clock=world.clock)
    worker.tick()
    assert _titles(world) == ["Acme: 50"]
