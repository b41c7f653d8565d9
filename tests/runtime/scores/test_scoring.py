"""Scoring on both databases: each scale, blank handling, bands, the change field, snapshots,
failures recorded per record, and explanations between two runs (numbers worked by hand)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from sqlalchemy import select

from tests.runtime.scores.world import MODEL, ScoreWorld
from trellis.runtime.access import Actor
from trellis.runtime.scores.explain import explain
from trellis.runtime.scores.tables import score_snapshots


def _snapshots(world: ScoreWorld, record_id: str) -> list[dict]:
    with world.db.read() as conn:
        rows = conn.execute(select(score_snapshots).where(score_snapshots.c.record_id == record_id)
                            .order_by(score_snapshots.c.computed_at)).mappings().all()
    return [dict(r) for r in rows]


def test_each_scale_and_weight_worked_by_hand(world: ScoreWorld) -> None:
    world.publish()
    a = world.account("A", seats=10, nps=9)
    world.usage(a, 3, days_ago=3)
    world.usage(a, 5, days_ago=2)
    world.usage(a, 9, days_ago=40)  # outside the 30-day window
    world.ticket(a, priority="P1", status="open")
    world.ticket(a, priority="P3", csat=4)
    report = world.run()
    assert (report.scored, report.failures) == (1, 0)
    # usage: peak 5 of 10 seats = 0.5 -> linear 0.2..0.8 -> 50 points x 40% = 20
    # p1: one open -> "max 2" step -> 40 points x 20% = 8
    # csat: avg 4 -> linear 1..5 -> 75 points x 20% = 15
    # nps: 9 -> "min 9" step -> 100 points x 20% = 20          total 63 -> 关注
    account = world.get("account", a)
    assert (account["health_score"], account["health_band"], account["health_change"]) == (63, "关注", None)
    factors = {f["name"]: f for f in json.loads(_snapshots(world, a)[0]["factors"])}
    assert factors["usage"]["points"] == 50 and factors["usage"]["contribution"] == 20
    assert factors["p1"]["points"] == 40 and factors["csat"]["points"] == 75 and factors["nps"]["contribution"] == 20


def test_blank_values_neutral_or_excluded_and_reweighted(world: ScoreWorld) -> None:
    world.publish()
    b = world.account("B", seats=10, nps=None)
    world.usage(b, 8)
    world.run()
    # usage 0.8 -> 100 points; p1 none open -> 100; csat blank -> neutral 50; nps blank -> excluded.
    # weights 40/20/20 re-weighted to 50/25/25: 50 + 25 + 12.5 = 87.5 -> 88 (halves round up) -> 健康
    account = world.get("account", b)
    assert (account["health_score"], account["health_band"]) == (88, "健康")
    snapshot = _snapshots(world, b)[0]
    assert snapshot["score"] == Decimal("87.50")
    nps = next(f for f in json.loads(snapshot["factors"]) if f["name"] == "nps")
    assert nps["points"] is None and nps["contribution"] is None and nps["error"] is None


def test_a_failing_factor_is_recorded_and_the_batch_goes_on(world: ScoreWorld) -> None:
    world.publish()
    broken = world.account("Zero seats", seats=0, nps=10)
    world.usage(broken, 4)
    fine = world.account("Fine", seats=10, nps=10)
    report = world.run(batch=1)
    assert (report.scored, report.failures, report.batches) == (2, 1, 2)
    usage = next(f for f in json.loads(_snapshots(world, broken)[0]["factors"]) if f["name"] == "usage")
    assert "division by zero" in usage["error"] and usage["points"] is None
    assert world.get("account", broken)["health_score"] is not None
    assert world.get("account", fine)["health_score"] is not None


def test_explanation_between_two_runs_says_what_moved(world: ScoreWorld) -> None:
    world.publish()
    a = world.account("A", seats=10, nps=9)
    world.usage(a, 8)
    world.ticket(a, priority="P3", csat=5)
    world.run()
    assert world.get("account", a)["health_score"] == 100
    world.clock.advance(days=1)
    world.ticket(a, priority="P1", status="open", csat=1)  # CSAT average 5 -> 3, one P1 open
    world.run()
    account = world.get("account", a)
    # usage 40 + p1 (40 pts x 20%) 8 + csat (avg 3 -> 50 pts x 20%) 10 + nps 20 = 78
    assert (account["health_score"], account["health_band"], account["health_change"]) == (78, "健康", -22)
    found = explain(world.records(), Actor.system(), "account", a)
    assert found.score == Decimal("78.00") and found.previous is not None and found.previous.score == Decimal("100.00")
    assert found.changes[0] == "Score fell from 100 to 78 (−22)"
    assert "Open P1 tickets rose from 0 to 1: −12 points" in found.changes
    assert "CSAT fell from 5 to 3: −10 points" in found.changes
    assert [s.score for s in found.history] == [Decimal("78.00"), Decimal("100.00")]


def test_bands_and_thresholds_at_their_edges(world: ScoreWorld) -> None:
    model = copy.deepcopy(MODEL)
    model["factors"] = [{"name": "nps", "label": "NPS", "value": "nps", "weight": 100,
                         "scale": {"type": "thresholds", "steps": [{"min": 75, "points": 75}, {"min": 50, "points": 50}],
                                   "otherwise": 49}}]
    world.publish(model)
    ids = {n: world.account(f"n{n}", nps=n) for n in (80, 75, 74, 50, 10)}
    world.run()
    bands = {n: (world.get("account", i)["health_score"], world.get("account", i)["health_band"]) for n, i in ids.items()}
    assert bands == {80: (75, "健康"), 75: (75, "健康"), 74: (50, "关注"), 50: (50, "关注"), 10: (49, "风险")}
