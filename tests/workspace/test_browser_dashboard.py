"""The KPI dashboard in a real browser: Debian's Chromium driven by Playwright against a real
`trellis serve` process on loopback, on SQLite, with the renewals app's demo data split between
two reps.

A rep signs in, opens the dashboard for this year: every trend chart is drawn by the vendored
ECharts (pixels on its canvas), nothing is fetched from another site and the CSP refuses
nothing the dashboard does; the rep clicks a number and gets exactly that many of their own
records, clicks a point of a trend and a breakdown cell and gets the records behind them. Screenshots of
the dashboard and the drill-down in both languages go to build/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from tests.designer.test_browser import SHOTS, Served, Visit, serving
from tests.designer.test_browser import chromium as chromium  # the designer's browser, over this module's server
from tests.renewals.world import TENANT, Renewals
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.platform.tenancy import Installation

REP, BOSS, PASSWORD = "rep@acme.test", "boss@acme.test", "correct horse battery"
IN_PERIOD = ("grr", "logo_churn", "nrr", "renewal_rate_count", "renewal_rate_value")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    def prepare(installation: Installation) -> None:
        world = Renewals.create(installation)
        generate(world.services.records(TENANT))
        for email in (REP, BOSS):
            world.services.users(TENANT).set_password(email, PASSWORD)
        with installation.database(TENANT).write() as conn:  # the book shared between the two reps
            for table in ("obj_contract", "obj_account"):
                conn.execute(text(f"UPDATE {table} SET owner_id = :rep"), {"rep": world.ids[REP]})  # noqa: S608
                conn.execute(text(f"UPDATE {table} SET owner_id = :boss WHERE id IN "  # noqa: S608
                                  f"(SELECT id FROM {table} ORDER BY id LIMIT (SELECT COUNT(*) / 3 FROM {table}))"),
                             {"boss": world.ids[BOSS]})

    with serving(tmp_path_factory, "dashboard", prepare) as running:
        yield running


def painted(page: Any, selector: str) -> int:
    """How many pixels the chart's canvas has painted (0: an empty chart)."""
    return int(page.evaluate("""(selector) => {
        const canvas = document.querySelector(selector + " canvas");
        if (!canvas) { return 0; }
        const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { count++; } }
        return count;
    }""", selector))


def test_a_rep_sees_the_charts_and_drills_down_to_their_records(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    refused: list[tuple[str, str]] = []  # console errors: (the script or resource, the message)
    visit.page.on("console", lambda m: refused.append((m.location.get("url", ""), m.text)) if m.type == "error" else None)
    visit.sign_in(REP, PASSWORD)
    year = date.today().year
    visit.go(f"/t/{TENANT}/app/dashboard?period={year}&lang=en")
    page = visit.page
    for name in IN_PERIOD:
        selector = f"#kpi-{name} .chart[data-chart='{name}']"
        page.wait_for_selector(f"{selector}[data-drawn] canvas")
        assert painted(page, selector) > 500, name
    assert page.inner_text("#period") == str(year)
    assert page.locator("#breakdown table tbody tr").count() == 1  # owner: only the rep
    assert page.inner_text("#breakdown tbody th") == "李销售"
    visit.page.screenshot(path=str(SHOTS / "workspace-dashboard.en.png"), full_page=True)
    visit.go(f"/t/{TENANT}/app/dashboard?period={year}&lang=zh-CN")
    page.wait_for_selector("#kpi-renewal_rate_count .chart[data-drawn] canvas")
    assert "续约率（按数量）" in page.inner_text("#kpi-renewal_rate_count h3") and page.inner_text("#period") == f"{year}年"
    page.screenshot(path=str(SHOTS / "workspace-dashboard.zh-CN.png"), full_page=True)

    # the decided contracts behind the renewal rate, by a click
    denominator = page.locator("#kpi-renewal_rate_count .parts a").nth(1)
    count = int(denominator.inner_text().replace(",", ""))
    assert 0 < count <= 50
    with page.expect_navigation():
        denominator.click()
    assert "/app/dashboard/records" in page.url and page.locator("#drill-down tbody tr").count() == count
    page.screenshot(path=str(SHOTS / "workspace-dashboard-drill.zh-CN.png"), full_page=True)
    visit.go(page.url + "&lang=en")
    assert "The records it is out of" in page.inner_text("#drill-scope")
    page.screenshot(path=str(SHOTS / "workspace-dashboard-drill.en.png"), full_page=True)

    # a point of a trend chart opens the records behind that period's figure
    visit.go(f"/t/{TENANT}/app/dashboard?period={year}&lang=en")
    page.wait_for_selector("#kpi-renewal_rate_count .chart[data-drawn] canvas")
    x, y = page.evaluate("""() => {
        const element = document.querySelector("#kpi-renewal_rate_count .chart");
        const chart = echarts.getInstanceByDom(element);
        const series = chart.getOption().series[0].data;
        const [px, py] = chart.convertToPixel({seriesIndex: 0}, [series.length - 1, series[series.length - 1]]);
        const box = element.getBoundingClientRect();
        return [box.left + px, box.top + py];
    }""")
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "/app/dashboard/records?metric=renewal_rate_count" in page.url and f"period={year}" in page.url

    # a number in the breakdown opens that group's records
    visit.go(f"/t/{TENANT}/app/dashboard?period={year}&by=account.tier&lang=en")
    cell = page.locator("#breakdown td[data-kpi='expiring_90d'] a").first
    with page.expect_navigation():
        cell.click()
    assert page.locator("#drill-down tbody tr").count() >= 1 and "Tier:" in page.inner_text("#drill-scope")
    assert visit.external() == []
    # htmx's own indicator style (every workspace page) and the missing favicon are not the dashboard's
    ours = [(url, message) for url, message in refused if not url.endswith(("/htmx.min.js", "/favicon.ico"))]
    assert ours == []
    visit.close()
