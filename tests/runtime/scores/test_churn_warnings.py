"""Churn warnings fired by score changes, through the worker on both databases: the worker runs
a model when its schedule is due (once a night, not every tick), the band rule creates one task
when an account enters 风险 and none while it stays there, and a new one when it comes back after
recovering; a drop of 15 points or more outside 风险 warns too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.runtime.scores.world import ScoreWorld
from trellis.runtime.access import Actor
from trellis.runtime.identity import UserService
from trellis.runtime.inbox.tables import tasks
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
