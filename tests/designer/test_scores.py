"""Score model pages over the ASGI app on both databases: the list, weights and bands edited as
a draft, their errors beside the fields, the version check, the running weight total, the value
expression checked as typed, and the backtest of the edited draft against the published model
on a small data set worked by hand (tests/runtime/scores/test_backtest.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import pytest

from tests.designer.conftest import Browser
from tests.designer.helpers import error_of, signed_in_admin
from tests.designer.test_assets import EXTERNAL
from tests.runtime.scores.test_backtest import CONTRACT, MODEL
from tests.runtime.scores.world import ScoreWorld
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.designer.scoreforms import Built, document_of, form_of, posted
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore

pytestmark = pytest.mark.anyio
PAGE = "/t/acme/score-models/health"
#: the published model's form as shown: one factor (nps, linear 0-10, weight 100) and three bands
FORM = {"label_en": "Health", "label_zh": "健康度", "active": "on",
        "factor_0_present": "1", "factor_0_name": "nps", "factor_0_label_en": "NPS", "factor_0_value": "nps",
        "factor_0_scale": "linear", "factor_0_direction": "higher_is_better", "factor_0_low": "0",
        "factor_0_high": "10", "factor_0_weight": "100", "factor_0_blank": "exclude",
        "factor_1_present": "1", "factor_1_scale": "linear", "factor_1_blank": "exclude",
        "band_0_present": "1", "band_0_value": "健康", "band_0_min": "75", "band_0_max": "100",
        "band_1_present": "1", "band_1_value": "关注", "band_1_min": "50", "band_1_max": "74",
        "band_2_present": "1", "band_2_value": "风险", "band_2_min": "0", "band_2_max": "49",
        "band_3_present": "1"}


@pytest.fixture
async def scored(installation: Installation) -> AsyncIterator[Browser]:
    """The backtest's world: six accounts scored once, four with an outcome within 90 days."""
    world = ScoreWorld.create(installation)
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
    async with signed_in_admin(installation, "acme") as browser:
        yield browser


def drafted(browser: Browser) -> dict[str, object] | None:
    found = MetadataStore(browser.installation.database("acme")).drafts().get(("score_model", "health"))
    return None if found is None else dict(found)



async def test_the_list_shows_each_model_with_its_bands(scored: Browser) -> None:
    page = await scored.client.get("/t/acme/score-models", params={"lang": "zh-CN"})
    assert page.status_code == 200
    row = re.search(r'<tr id="model-health">(.*?)</tr>', page.text, re.DOTALL)
    assert row and "健康 / 关注 / 风险" in row.group(1) and "客户健康度" not in row.group(1)  # MODEL has no label
    assert 'href="/t/acme/score-models"' in page.text  # the nav link


async def test_the_form_shows_the_model_and_saves_new_weights_as_a_draft(scored: Browser) -> None:
    page, hidden = await scored.form(PAGE)
    assert 'name="factor_0_weight" value="100"' in page and 'name="factor_0_weight_slider"' in page
    assert 'name="band_1_min" value="50"' in page and 'name="factor_1_name"' in page  # an empty row to add with
    saved = await scored.client.post(PAGE, data={
        **hidden, **FORM, "factor_0_weight": "70", "factor_1_name": "seats", "factor_1_label_zh": "席位",
        "factor_1_value": "seats", "factor_1_scale": "thresholds", "factor_1_direction": "higher_is_better",
        "factor_1_steps": "20: 100\n5：50", "factor_1_otherwise": "0", "factor_1_weight": "30",
        "factor_1_blank": "neutral", "factor_1_neutral": "50", "schedule_cron": "0 3 * * *",
        "recompute": "nps, seats"})
    assert saved.status_code == 303, error_of(saved.text, "weights")
    document = drafted(scored)
    assert document is not None
    assert [(f["name"], f["weight"]) for f in document["factors"]] == [("nps", 70), ("seats", 30)]  # type: ignore[index]
    assert document["factors"][1] == {  # type: ignore[index]
        "name": "seats", "label": {"zh-CN": "席位"}, "value": "seats", "weight": 30, "blank": {"neutral": 50},
        "scale": {"type": "thresholds", "steps": [{"min": 20, "points": 100}, {"min": 5, "points": 50}], "otherwise": 0}}
    assert document["schedule"] == {"cron": "0 3 * * *"} and document["recompute_on_change"] == ["nps", "seats"]
    assert document["backtest"] == MODEL["backtest"]  # what the form does not show is kept
    again, hidden = await scored.form(PAGE)
    assert 'name="factor_1_steps" rows="3">20: 100\n5: 50</textarea>' in again
    emptied = {f"factor_0_{key}": "" for key in ("name", "label_en", "label_zh", "value", "weight")}
    removed = await scored.client.post(PAGE, data={  # a row emptied is a factor removed
        **hidden, **FORM, **emptied, "factor_1_name": "seats", "factor_1_value": "seats", "factor_1_low": "0",
        "factor_1_high": "20", "factor_1_weight": "100"})
    assert removed.status_code == 303
    document = drafted(scored)
    assert document is not None and [f["name"] for f in document["factors"]] == ["seats"]  # type: ignore[index]


async def test_weights_not_adding_up_and_gapped_bands_are_marked_beside_their_fields(scored: Browser) -> None:
    _, hidden = await scored.form(PAGE)
    bad = await scored.client.post(PAGE, params={"lang": "zh-CN"}, data={
        **hidden, **FORM, "factor_0_weight": "60", "factor_1_name": "seats", "factor_1_label_en": "Seats",
        "factor_1_value": "seats", "factor_1_low": "0", "factor_1_high": "20", "factor_1_weight": "30",
        "band_1_min": "55"})
    assert bad.status_code == 422
    assert error_of(bad.text, "weights") == "权重合计必须为 100，当前为 90。"
    assert error_of(bad.text, "band_1_min") == "没有分数段覆盖 50-54 分。"
    assert 'name="factor_1_name" value="seats"' in bad.text and 'name="band_1_min" value="55"' in bad.text  # kept
    overlap = await scored.client.post(PAGE, params={"lang": "en"}, data={**hidden, **FORM, "band_2_max": "60"})
    assert overlap.status_code == 422
    assert "inside the band before it" in error_of(overlap.text, "band_1_min")
    typed = await scored.client.post(PAGE, params={"lang": "en"}, data={
        **hidden, **FORM, "factor_0_weight": "a lot", "factor_0_low": "", "band_0_max": "1e9", "band_0_value": ""})
    assert typed.status_code == 422
    for field in ("factor_0_weight", "factor_0_low", "band_0_max", "band_0_value"):
        assert error_of(typed.text, field)
    assert drafted(scored) is None


async def test_a_model_changed_meanwhile_is_not_overwritten(scored: Browser) -> None:
    _, hidden = await scored.form(PAGE)
    first = await scored.client.post(PAGE, data={**hidden, **FORM, "label_en": "First"})
    assert first.status_code == 303
    stale = await scored.client.post(PAGE, data={**hidden, **FORM, "label_en": "Second"})
    assert stale.status_code == 409 and 'value="Second"' in stale.text
    document = drafted(scored)
    assert document is not None and document["x-label"] == {"en": "First", "zh-CN": "健康度"}


async def test_the_running_total_and_the_slider_follow_the_number(scored: Browser) -> None:
    _, hidden = await scored.form(PAGE)
    moved = await scored.client.post(f"{PAGE}/weights", data={**hidden, **FORM, "factor_0_weight_slider": "85"},
                                     headers={"HX-Request": "true", "HX-Trigger-Name": "factor_0_weight_slider"})
    assert moved.status_code == 200
    assert 'data-total="85"' in moved.text and 'class="weights-total bad"' in moved.text
    number = re.search(r'<input type="number" id="factor-0-weight"[^>]*>', moved.text)
    assert number and 'value="85"' in number.group(0) and 'hx-swap-oob="true"' in number.group(0)
    typed = await scored.client.post(f"{PAGE}/weights", data={**hidden, **FORM},
                                     headers={"HX-Request": "true", "HX-Trigger-Name": "factor_0_weight"})
    assert 'data-total="100"' in typed.text and 'id="factor-0-weight-slider"' in typed.text


async def test_a_factor_value_is_checked_as_it_is_typed(scored: Browser) -> None:
    _, hidden = await scored.form(PAGE)
    headers = {"HX-Request": "true", "HX-Trigger-Name": "factor_0_value"}
    wrong = await scored.client.post(f"{PAGE}/check", data={**hidden, **FORM, "factor_0_value": "npss * 2"},
                                     headers=headers)
    assert unescape(error_of(wrong.text, "factor_0_value")) == "unknown field 'npss'; did you mean 'nps'?"
    chinese = await scored.client.post(f"{PAGE}/check", params={"lang": "zh-CN"}, headers=headers,
                                       data={**hidden, **FORM, "factor_0_value": "nps *"})
    assert error_of(chinese.text, "factor_0_value") == "语法错误：表达式不完整或有误（第 6 列）"
    right = await scored.client.post(f"{PAGE}/check", data={**hidden, **FORM, "factor_0_value": "nps * 2",
                                                            "factor_0_weight": "half-typed"}, headers=headers)
    assert "field-error" not in right.text and "hint" in right.text


async def test_the_backtest_compares_the_edited_draft_with_the_published_model(scored: Browser) -> None:
    page, hidden = await scored.form(PAGE)
    assert 'id="run-backtest"' in page
    # the candidate of test_backtest.py: nps 8+ → 100 points, 5+ → 50, else 0
    found = await scored.client.post(f"{PAGE}/backtest", data={
        **hidden, **FORM, "factor_0_scale": "thresholds", "factor_0_steps": "8: 100\n5: 50"},
        headers={"HX-Request": "true"})
    assert found.status_code == 200 and 'id="backtest-table"' in found.text, found.text
    aucs = re.findall(r'data-auc="([^"]*)"', found.text)
    assert aucs == ["0.5000", "0.6250"]  # published, draft
    rows = dict(re.findall(r'<tr data-band="([^"]+)">(.*?)</tr>', found.text, re.DOTALL))
    rates = {band: re.findall(r'data-rate="([^"]*)"', cells) for band, cells in rows.items()}
    assert rates == {"健康": ["0.0000", "0.0000"], "关注": ["1.0000", "1.0000"], "风险": ["0.5000", "0.5000"]}
    assert drafted(scored) is None  # nothing saved
    invalid = await scored.client.post(f"{PAGE}/backtest", data={**hidden, **FORM, "factor_0_weight": "90"},
                                       headers={"HX-Request": "true"})
    assert 'id="backtest-problems"' in invalid.text and "90" in invalid.text


def posted_back(document: dict[str, object]) -> Built:
    """The model built from its own form, as a browser would post it untouched."""
    form = form_of(document).with_empty_rows()
    fields = {**form.values,
              **{f"factor_{i}_{k}": v for i, row in enumerate(form.factors) for k, v in row.items()},
              **{f"band_{i}_{k}": v for i, row in enumerate(form.bands) for k, v in row.items()},
              **{f"factor_{i}_present": "1" for i in range(len(form.factors))},
              **{f"band_{i}_present": "1" for i in range(len(form.bands))}}
    return document_of(posted(lambda key: fields.get(key, "").strip(), lambda key: bool(fields.get(key))), document)


def test_the_form_gives_back_each_shipped_model_unchanged() -> None:
    """Round trip: what the form shows for customer_health, posted as it is, is the same document."""
    for name, document in load_folder(APP_FOLDER).documents("score_model").items():
        built = posted_back(dict(document))
        assert built.problems == [] and built.document == document, name


async def test_the_pages_name_no_other_site_and_run_no_inline_script(scored: Browser) -> None:
    for path in ("/t/acme/score-models", PAGE, "/t/acme/tiers", "/t/acme/metrics"):
        for lang in ("en", "zh-CN"):
            page = await scored.client.get(path, params={"lang": lang})
            assert page.status_code == 200, path
            assert EXTERNAL.search(page.text) is None and "<script>" not in page.text, path
            assert not re.search(r"\son[a-z]+=", page.text), path
