"""The approval process pages in a real browser (Debian's Chromium through Playwright, a real
`trellis serve` on loopback, SQLite): an admin opens the renewals app's quote discount process,
adds a step and sees the flow picture change as they type (htmx posts the form, the server draws
the SVG), saves, simulates a quote to see who would approve it, and publishes. Screenshots of
each page in both languages go to build/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.designer import test_browser
from tests.designer.test_browser import PASSWORD, SHOTS, Served, Visit, serving
from tests.renewals.world import TENANT, Renewals
from trellis.platform.tenancy import Installation

pytestmark = pytest.mark.slow
ADMIN = "admin@acme.test"
PROCESS = f"/t/{TENANT}/approvals/quote_discount"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    def prepare(installation: Installation) -> None:
        world = Renewals.create(installation)  # the latest renewals, its sales team and managers
        world.services.users(TENANT).set_password(ADMIN, PASSWORD)
        product = world.product("P-大额", "10000.00")
        world.quote([{"product": product, "quantity": 1, "list_price": "10000.00", "uplift_pct": "0",
                              "discount_pct": "25"}], name="大额折扣报价")

    with serving(tmp_path_factory, "browser-approvals", prepare) as running:
        yield running


chromium = test_browser.chromium  # the same browser fixture, over this module's server


def steps_drawn(page: Any) -> list[str]:
    return [str(g.get_attribute("data-step")) for g in page.locator("#flow g.step").all()]


def test_the_admin_edits_a_process_sees_the_flow_simulates_and_publishes(
        chromium: Any, served: Served) -> None:
    from playwright.sync_api import expect

    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    visit.go(f"/t/{TENANT}/approvals")
    assert "报价折扣审批" in page.inner_text("#processes")
    visit.shoot("approvals")
    with page.expect_navigation():
        page.click(f"a[href='{PROCESS}']")
    assert steps_drawn(page) == ["manager", "sales_director", "finance"]
    visit.shoot("approval")
    page.locator("#flow svg").screenshot(path=str(SHOTS / "approval-flow.zh-CN.png"))

    # a fourth step: the picture follows the form before anything is saved
    with page.expect_navigation():
        page.click("#add-step")
    assert steps_drawn(page) == ["manager", "sales_director", "finance", "step_4"]
    page.fill("input[name=s3_name]", "legal")
    page.fill("input[name=s3_label_zh]", "法务复核")
    page.select_option("select[name=s3_a0_kind]", "role")
    page.fill("input[name=s3_a0_value]", "finance")
    page.select_option("select[name=s3_esc_action]", "approve")
    page.fill("input[name=s3_esc_hours]", "72")
    page.locator("input[name=s3_esc_hours]").dispatch_event("change")
    flow = expect(page.locator("#flow g.step[data-step=legal]"))
    for drawn in ("4. 法务复核", "角色 finance", "72 小时后：自动同意"):
        flow.to_contain_text(drawn)
    page.locator("#step-3").screenshot(path=str(SHOTS / "approval-step.zh-CN.png"))
    with page.expect_navigation():
        page.click("#save")
    assert "已保存为草稿" in page.inner_text("p.notice")
    assert steps_drawn(page) == ["manager", "sales_director", "finance", "legal"]
    page.locator("#on_rejected").screenshot(path=str(SHOTS / "approval-outcome.zh-CN.png"))

    # a bad entry is marked beside its field, in Chinese, and what was typed stays
    page.fill("input[name=s1_at_least]", "0")
    page.select_option("select[name=s1_mode]", "at_least")
    with page.expect_navigation():
        page.click("#save")
    assert "不小于 1 的整数" in page.inner_text("[data-field=s1_at_least]")
    page.locator("#step-1").screenshot(path=str(SHOTS / "approval-error.zh-CN.png"))
    visit.go(PROCESS)  # leave the unsaved edit

    # the simulator: find the quote by name, see who would approve it
    page.fill("input[name=find]", "大额")
    with page.expect_navigation():
        page.click("form.inline-form button.secondary")
    with page.expect_navigation():
        page.click("#simulate")
    simulation = page.inner_text("#simulation")
    assert "王经理" in simulation and "赵总监" in simulation and "已同意" in page.inner_text("#outcome-path")
    assert [page.get_attribute(f"#flow g.step[data-step={s}]", "data-runs") for s in ("sales_director", "finance")] \
        == ["true", "false"]
    quote = page.locator("#simulate-form select[name=record]").input_value()
    for lang in ("en", "zh-CN"):
        visit.go(f"{PROCESS}?lang={lang}&record={quote}#simulator")
        page.screenshot(path=str(SHOTS / f"approval-simulator.{lang}.png"), full_page=True)
        page.locator("#flow svg").screenshot(path=str(SHOTS / f"approval-flow-simulated.{lang}.png"))

    # publish: the plan names the process, then the list says published
    visit.go(f"/t/{TENANT}/publish?lang=en")
    assert "approval_process quote_discount" in page.inner_text("main")
    visit.go(f"/t/{TENANT}/publish?lang=zh-CN")
    page.fill("input[name=message]", "报价审批增加法务复核")
    with page.expect_navigation():
        page.click("#publish")
    assert "已发布版本" in page.inner_text("main")
    visit.go(f"/t/{TENANT}/approvals")
    assert "已发布" in page.inner_text("#processes tr[data-process=quote_discount] .state")
    assert visit.external() == []
    visit.close()
