"""Score model and metric documents: the sound ones publish, and each mistake an admin can make
is refused with the file, the JSON path and a sentence. Pure: no database."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.runtime.scores.world import ACCOUNT, MODEL, TICKET, USAGE
from trellis.metadata import MetadataSet, validate_set

METRIC: dict[str, Any] = {
    "x-label": {"en": "Open P1 share", "zh-CN": "P1 占比"},
    "definition": {"en": "P1 tickets over all tickets opened in the period.", "zh-CN": "期间内 P1 工单占全部工单的比例。"},
    "object": "ticket",
    "period_field": "opened",
    "numerator": {"function": "count", "where": "priority == 'P1'"},
    "denominator": {"function": "count"},
    "format": "percent",
    "group_by": ["status", "account.name"],
}


def errors(model: dict[str, Any] | None = None, metric: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    items: dict[tuple[str, str], Any] = {("object", "account"): ACCOUNT, ("object", "usage"): USAGE,
                                         ("object", "ticket"): TICKET,
                                         ("score_model", "health"): model or MODEL, ("metric", "p1_share"): metric or METRIC}
    return [(e.file, e.path, e.message) for e in validate_set(MetadataSet(copy.deepcopy(items)))]


def changed(document: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    change(document)
    return document


def test_the_sound_model_and_metric_publish() -> None:
    assert errors() == []


MODEL_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    ("weights", lambda m: m["factors"][0].update(weight=30), "$.factors", "must sum to 100; they sum to 90"),
    ("negative", lambda m: m["factors"][0].update(weight=-40), "$.factors[0].weight", "cannot be negative"),
    ("gap", lambda m: m["bands"][1].update(min=55), "$.bands[1].min", "no band holds the scores 50-54"),
    ("overlap", lambda m: m["bands"][0].update(min=70), "$.bands[0].min", "bands may not overlap"),
    ("top", lambda m: m["bands"][0].update(max=99), "$.bands[0].max", "no band holds the scores 100-100"),
    ("band value", lambda m: m["bands"][2].update(value="危险"), "$.bands[2].value", "not a choice of account.health_band"),
    ("score field", lambda m: m.update(score_field="helth_score"), "$.score_field", "did you mean 'health_score'"),
    ("band type", lambda m: m.update(band_field="seats"), "$.band_field", "must be a text or choice field"),
    ("factor field", lambda m: m["factors"][3].update(value="nsp"), "$.factors[3].value", "unknown field 'nsp'"),
    ("expression", lambda m: m["factors"][3].update(value="nps +"), "$.factors[3].value", "syntax error"),
    ("previous", lambda m: m["factors"][3].update(value="previous(nps + 1)"), "$.factors[3].value",
     "previous() takes a field name"),
    ("object", lambda m: m.update(object="acount"), "$.object", "'acount' is not an object"),
    ("agg object", lambda m: m["aggregates"]["open_p1"].update(object="tickets"), "$.aggregates.open_p1.object",
     "'tickets' is not an object"),
    ("agg via", lambda m: m["aggregates"]["open_p1"].update(via="priority"), "$.aggregates.open_p1.via",
     "is not a lookup"),
    ("agg where", lambda m: m["aggregates"]["open_p1"].update(where="prio == 'P1'"), "$.aggregates.open_p1.where",
     "unknown field 'prio'"),
    ("agg value", lambda m: m["aggregates"]["avg_csat"].pop("value"), "$.aggregates.avg_csat", "avg needs a value"),
    ("linear", lambda m: m["factors"][0]["scale"].update(low=0.9), "$.factors[0].scale", "must be below high"),
    ("steps", lambda m: m["factors"][3]["scale"]["steps"].reverse(), "$.factors[3].scale.steps", "strictly falling"),
    ("step key", lambda m: m["factors"][1]["scale"]["steps"][0].update(min=0), "$.factors[1].scale.steps[0]",
     "not \"min\""),
    ("cron", lambda m: m["schedule"].update(cron="0 25 * * *"), "$.schedule.cron", "hour"),
    ("watch own", lambda m: m.update(recompute_on_change=["nps", "health_band"]), "$.recompute_on_change[1]",
     "written by the model itself"),
    ("agg date field", lambda m: m["aggregates"]["open_p1"].update(date_field="opend"), "$.aggregates.open_p1.date_field",
     "'opend' is not a field of ticket"),
    ("agg date type", lambda m: m["aggregates"]["open_p1"].update(date_field="csat"), "$.aggregates.open_p1.date_field",
     "date_field must be a date or date-time"),
    ("backtest via", lambda m: m.update(backtest={"object": "ticket", "via": "status", "date_field": "opened",
                                                  "churned": "True", "renewed": "False"}), "$.backtest.via",
     "is not a lookup"),
]


@pytest.mark.parametrize(("change", "path", "words"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_each_model_mistake_is_one_error_with_file_and_path(change: Callable[[dict[str, Any]], Any], path: str,
                                                           words: str) -> None:
    found = errors(model=changed(MODEL, change))
    assert len(found) == 1, found
    file, where, message = found[0]
    assert (file, where) == ("score_models/health.json", path)
    assert words in message


METRIC_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    ("non-numeric", lambda m: m.update(denominator={"function": "sum", "value": "priority"}), "$.denominator.value",
     "sum needs a number; 'priority' is a enum field"),
    ("period", lambda m: m.update(period_field="priority"), "$.period_field", "a period filters on a date"),
    ("where", lambda m: m["numerator"].update(where="priorty == 'P1'"), "$.numerator.where", "did you mean 'priority'"),
    ("group", lambda m: m.update(group_by=["account.nam"]), "$.group_by[0]", "unknown field 'nam'"),
    ("count value", lambda m: m["numerator"].update(value="csat"), "$.numerator.value", "takes no value"),
]


@pytest.mark.parametrize(("change", "path", "words"), [c[1:] for c in METRIC_CASES], ids=[c[0] for c in METRIC_CASES])
def test_each_metric_mistake_is_one_error_with_file_and_path(change: Callable[[dict[str, Any]], Any], path: str,
                                                            words: str) -> None:
    found = errors(metric=changed(METRIC, change))
    assert len(found) == 1, found
    file, where, message = found[0]
    assert (file, where) == ("metrics/p1_share.json", path)
    assert words in message
