"""Backtests on both databases against a data set worked by hand: churn rate per band and AUC
for the published model and for a candidate re-scored from the same snapshots."""

from __future__ import annotations

import copy
from datetime import date, timedelta
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


DATED: dict[str, Any] = {
    "object": "account", "score_field": "health_score", "band_field": "health_band",
    "aggregates": {
        "peak_users": {"object": "usage", "via": "account", "function": "max", "value": "active_users",
                       "date_field": "used_on", "within_days": 30},
        "avg_csat": {"object": "ticket", "via": "account", "function": "avg", "value": "csat",
                     "date_field": "opened", "within_days": 90},
        "open_p1": {"object": "ticket", "via": "account", "function": "count",
                    "where": "priority == 'P1' and status == 'open'"},  # no date_field: cannot be dated
    },
    "factors": [
        {"name": "usage", "label": "Usage", "value": "peak_users / seats", "weight": 50, "blank": "exclude",
         "scale": {"type": "linear", "low": 0.2, "high": 0.8}},
        {"name": "csat", "label": "CSAT", "value": "avg_csat", "weight": 30, "blank": {"neutral": 50},
         "scale": {"type": "linear", "low": 1, "high": 5}},
        {"name": "p1", "label": "P1", "value": "open_p1", "weight": 20, "blank": {"neutral": 100},
         "scale": {"type": "thresholds", "direction": "lower_is_better",
                   "steps": [{"max": 0, "points": 100}, {"max": 2, "points": 40}], "otherwise": 0}},
    ],
    "bands": MODEL["bands"],
    "backtest": MODEL["backtest"],
}


def test_scores_recomputed_as_of_a_past_date_from_dated_data(world: ScoreWorld) -> None:
    world.publish(DATED, object__contract=CONTRACT)  # today is 2026-03-01 in Shanghai
    system, records = Actor.system(), world.records()

    def account(name: str, usage: list[tuple[str, int]], tickets: list[tuple[str, float, str]],
                outcome: tuple[str, str]) -> str:
        found = world.account(name)  # 10 seats
        for day, users in usage:
            records.create(system, "usage", {"account": found, "used_on": day, "active_users": users})
        for day, csat, priority in tickets:
            records.create(system, "ticket", {"account": found, "opened": day, "csat": csat, "priority": priority,
                                              "status": "open" if priority == "P1" else "closed"})
        records.create(system, "contract", {"name": name, "account": found, "status": outcome[0],
                                            "end_date": outcome[1]})
        return found

    # as of 2026-01-01 (usage counted from 2025-12-02, CSAT from 2025-10-03; later rows left out):
    # A: usage 2/10 -> 0; CSAT 5 -> 100; P1 undated -> neutral 100: 0×.5 + 100×.3 + 100×.2 = 50 关注, renewed
    account("A", [("2025-12-20", 2), ("2026-02-15", 9)], [("2025-11-15", 5, "P3"), ("2026-02-01", 1, "P1")],
            ("renewed", "2026-02-10"))
    # B: usage 8/10 -> 100; CSAT 3 -> 50; P1 100: 50 + 15 + 20 = 85 健康, renewed
    account("B", [("2025-12-25", 8)], [("2025-12-01", 3, "P3")], ("renewed", "2026-03-15"))
    # C: no usage (left out, re-weighted 30:20 -> 60:40); CSAT neutral 50; P1 100: 30 + 40 = 70 关注, lost
    account("C", [], [], ("lost", "2026-01-20"))
    # D: usage of 2025-10-01 is outside 30 days (left out); CSAT 1 -> 0; P1 100: 0 + 40 = 40 风险, lost
    account("D", [("2025-10-01", 8)], [("2025-12-31", 1, "P3")], ("lost", "2026-03-31"))
    account("E", [("2025-12-20", 8)], [], ("lost", "2026-06-01"))  # its outcome is past the 90 days: no pair
    assert world.registry is not None
    registry = world.registry
    model = model_named(registry.metadata, "health")

    def run(candidate: dict[str, Any] | None = None) -> Any:
        with world.db.read() as conn:
            return backtest(conn, registry, model, registry.metadata[("score_model", "health")], records.context(),
                            compile_model("candidate", candidate) if candidate else None,
                            as_of=[date(2026, 1, 1)])

    found = run()
    assert (found.snapshots, found.from_snapshots, found.recomputed, found.undated) == (0, 0, 4, ["p1"])
    assert found.as_of == [date(2026, 1, 1)]
    assert [(b.band, b.records, b.churned) for b in found.current.bands] == [("健康", 1, 0), ("关注", 2, 1),
                                                                           ("风险", 1, 1)]
    # renewed {85, 50} against lost {70, 40}: 85 beats both, 50 beats 40 only: 3 of 4
    assert found.current.auc == pytest.approx(0.75)
    csat_only = copy.deepcopy(DATED)  # a candidate on CSAT alone, from the recomputed raw values:
    csat_only["factors"] = [{**DATED["factors"][1], "weight": 100}]  # A 100, B 50, C 50 (neutral), D 0
    candidate = run(csat_only).candidate
    assert candidate is not None and candidate.pairs == 4
    assert [(b.band, b.records, b.churned) for b in candidate.bands] == [("健康", 1, 0), ("关注", 2, 1), ("风险", 1, 1)]
    assert candidate.auc == pytest.approx(3.5 / 4)  # renewed {100, 50} against lost {50, 0}: 2 + ½ + 1

    world.run()  # snapshots today (2026-03-01): B and D have outcomes within 90 days of it
    found = run()
    # B today: no usage in 30 days (left out); CSAT 3 -> 50; no open P1 -> 100: 30 + 40 = 70 关注, renewed
    # D today: no usage; CSAT 1 -> 0; P1 100: 40 风险, lost
    assert (found.snapshots, found.from_snapshots, found.recomputed) == (5, 2, 4)
    assert found.as_of == [date(2026, 1, 1), date(2026, 3, 1)]
    assert [(b.band, b.records, b.churned) for b in found.current.bands] == [("健康", 1, 0), ("关注", 3, 1),
                                                                           ("风险", 2, 2)]
    # renewed {85, 50, 70} against lost {70, 40, 40}: 3 + 2 + (½ + 2) of 9
    assert found.current.auc == pytest.approx(7.5 / 9)
