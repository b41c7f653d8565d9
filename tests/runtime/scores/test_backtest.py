"""Backtests on both databases against a data set worked by hand: churn rate per band and AUC
for the published model and for a candidate re-scored from the same snapshots."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from tests.runtime.scores.world import ScoreWorld
from trellis.runtime.access import Actor
from trellis.runtime.errors import InvalidInput
from trellis.runtime.scores.backtest import backtest
from trellis.runtime.scores.model import compile_model, model_named

CONTRACT = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "account": {"type": "string", "x-ref": "account"},
    "end_date": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": ["active", "renewed", "lost"]}}}
MODEL: dict[str, Any] = {
    "object": "account", "score_field": "health_score", "band_field": "health_band",
    "factors": [{"name": "nps", "label": "NPS", "value": "nps", "weight": 100,
                 "scale": {"type": "linear", "low": 0, "high": 10}}],
    "bands": [{"value": "健康", "min": 75, "max": 100}, {"value": "关注", "min": 50, "max": 74},
              {"value": "风险", "min": 0, "max": 49}],
    "backtest": {"object": "contract", "via": "account", "date_field": "end_date", "churned": "status == 'lost'",
                 "renewed": "status == 'renewed'", "within_days": 90}}
CANDIDATE = copy.deepcopy(MODEL)
CANDIDATE["factors"][0]["scale"] = {"type": "thresholds", "steps": [{"min": 8, "points": 100}, {"min": 5, "points": 50}]}


def test_churn_per_band_and_auc_worked_by_hand(world: ScoreWorld) -> None:
    world.publish(MODEL, object__contract=CONTRACT)
    today = world.today()
    outcomes = {9: ("renewed", 30), 7: ("lost", 60), 4: ("lost", 10), 2: ("renewed", 89), 8: None, 5: ("lost", 120)}
    for nps, outcome in outcomes.items():
        account = world.account(f"nps {nps}", nps=nps)
        if outcome is not None:
            status, days = outcome
            world.records().create(Actor.system(), "contract", {
                "name": f"c{nps}", "account": account, "status": status,
                "end_date": (today + timedelta(days=days)).isoformat()})
    world.run()
    assert world.registry is not None
    registry = world.registry
    model = model_named(registry.metadata, "health")
    with world.db.read() as conn:
        found = backtest(conn, registry, model, registry.metadata[("score_model", "health")], world.records().context(),
                         compile_model("candidate", CANDIDATE))
    # scores 90 (renewed), 70 (lost), 40 (lost), 20 (renewed); 80 has no outcome, 50's is 120 days out
    current = found.current
    assert (found.snapshots, current.pairs, current.churned) == (6, 4, 2)
    assert [(b.band, b.records, b.churned) for b in current.bands] == [("健康", 1, 0), ("关注", 1, 1), ("风险", 2, 1)]
    # renewed {90, 20} against churned {70, 40}: 90 beats both, 20 beats neither: 2 of 4
    assert current.auc == pytest.approx(0.5)
    # candidate: 9 -> 100, 7 -> 50, 4 -> 0, 2 -> 0: renewed {100, 0}, churned {50, 0}: 1 + 1 + 0 + ½ of 4
    assert found.candidate is not None and found.candidate.auc == pytest.approx(0.625)
    assert [(b.band, b.records, b.churned) for b in found.candidate.bands] == [("健康", 1, 0), ("关注", 1, 1),
                                                                             ("风险", 2, 1)]


def test_a_model_without_outcomes_cannot_be_backtested(world: ScoreWorld) -> None:
    model = copy.deepcopy(MODEL)
    del model["backtest"]
    world.publish(model, object__contract=CONTRACT)
    assert world.registry is not None
    with world.db.read() as conn, pytest.raises(InvalidInput, match="no backtest"):
        backtest(conn, world.registry, model_named(world.registry.metadata, "health"), model, world.records().context())
