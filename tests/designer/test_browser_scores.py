"""Score models, tiers and metrics in a real browser: Debian's Chromium driven by Playwright
against a real `trellis serve` on loopback, over the renewals demo with its health data (two
scoring runs), on SQLite.

The admin changes a weight by its number and another by its slider (htmx keeps each pair
together and the total current, no script of ours), runs the backtest of the edited draft,
saves it and publishes it after the plan; then looks at the tiers' reminders and previews a
metric. Each page is screenshotted in both languages into build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from tests.designer.test_browser import ADMIN, PASSWORD, SHOTS, TENANT, Served, Visit, chromium, serving
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.builtin_apps.renewals.demo_health import generate_health
from trellis.metadata.loader import load_folder
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.slow
__all__ = ["chromium"]  # the browser fixture, shared with test_browser.py
MODEL = f"/t/{TENANT}/score-models/customer_health"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    def prepare(installation: Installation) -> None:
        installation.create_tenant(TENANT, "Asia/Shanghai", "zh-CN")
        services = TenantServices(installation)
        services.store(TENANT).publish(load_folder(APP_FOLDER), author="test")
        generate(services.records(TENANT))
        generate_health(services.records(TENANT))
        admin = services.users(TENANT).create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
        with installation.database(TENANT).write() as conn:
            conn.execute(text("UPDATE obj_contract SET owner_id = :owner"), {"owner": admin.id})

    with serving(tmp_path_factory, "browser-scores", prepare) as running:
        yield running


def _published_weights(settings: Settings) -> list[tuple[str, Any]]:
    installation = Installation(settings)
    try:
        release = MetadataStore(installation.database(TENANT)).current()
        assert release is not None
        return [(f["name"], f["weight"]) for f in release.metadata[("score_model", "customer_health")]["factors"]]
    finally:
        installation.dispose()


def test_the_admin_reweighs_backtests_and_publishes_a_score_model(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    visit.go(f"/t/{TENANT}/score-models")
    visit.shoot("scores")
    assert "客户健康度" in page.inner_text("#model-customer_health")
    visit.go(MODEL)
    visit.shoot("score")
    assert page.get_attribute("#weights-total", "data-total") == "100"

    # a weight by its number: the slider and the total follow
    page.fill("#factor-0-weight", "20")
    page.wait_for_selector("#weights-total[data-total='95']")
    assert page.input_value("#factor-0-weight-slider") == "20"
    assert "weights-total bad" in (page.get_attribute("#weights-total", "class") or "")
    # another by its slider: the number and the total follow
    page.fill("#factor-2-weight-slider", "25")
    page.wait_for_selector("#weights-total[data-total='100']")
    assert page.input_value("#factor-2-weight") == "25"

    # a misspelt value expression is caught as it is typed
    page.fill("input[name=factor_3_value]", "csat_9d")
    page.wait_for_selector("#factor-3-value-check .field-error")
    assert "csat_9d" in page.inner_text("#factor-3-value-check")
    page.fill("input[name=factor_3_value]", "csat_90d")
    page.wait_for_selector("#factor-3-value-check .hint")

    # the backtest of the draft as it stands, beside the published model's
    page.click("#run-backtest")
    page.wait_for_selector("#backtest-table")
    assert page.locator("#backtest-table tr[data-band]").count() == 3
    assert page.locator("#backtest-table td[data-auc]").count() == 2
    page.screenshot(path=str(SHOTS / "score-backtest.zh-CN.png"), full_page=True)
    page.locator("#backtest").screenshot(path=str(SHOTS / "score-backtest-table.zh-CN.png"))
    assert not page.is_visible("textarea[name=factor_0_steps]")  # a linear scale's factor shows no steps
    assert page.is_visible("textarea[name=factor_2_steps]") and not page.is_visible("input[name=factor_2_low]")

    visit.save()
    assert "已保存为草稿" in page.inner_text("main")
    assert page.input_value("#factor-0-weight") == "20" and page.input_value("#factor-2-weight") == "25"

    # the plan, then publish
    visit.go(f"/t/{TENANT}/publish")
    assert "customer_health" in page.inner_text("main")
    page.fill("input[name=message]", "健康度权重调整")
    with page.expect_navigation():
        page.click("#publish")
    assert "已发布版本 2" in page.inner_text("main")
    assert _published_weights(served.settings)[:3] == [("usage", 20), ("adoption", 15), ("tickets", 25)]
    assert visit.external() == []
    visit.close()


def test_the_admin_sees_each_tiers_reminders_and_previews_a_metric(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    visit.go(f"/t/{TENANT}/tiers")
    visit.shoot("tiers")
    strategic = page.inner_text("tr[data-rule=strategic_renewal_reminder]")
    assert "战略客户续约提醒" in strategic and "email" in strategic
    visit.go(f"/t/{TENANT}/metrics")
    visit.shoot("metrics")
    assert "净收入留存率" in page.inner_text("#metric-nrr")
    visit.go(f"/t/{TENANT}/metrics/nrr")
    page.fill("input[name=period]", "all")
    page.click("#run-preview")
    page.wait_for_selector("#preview-value")
    assert "%" in page.inner_text("#preview-value")
    page.screenshot(path=str(SHOTS / "metric-preview.zh-CN.png"), full_page=True)
    page.locator("#preview").screenshot(path=str(SHOTS / "metric-preview-value.zh-CN.png"))
    visit.shoot("metric")
    assert visit.external() == []
    visit.close()
