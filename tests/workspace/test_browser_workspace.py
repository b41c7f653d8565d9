"""The workspace in a real browser: Debian's Chromium driven by Playwright against a real
`trellis serve` process on loopback, on SQLite (see tests/designer/test_browser.py).

A rep signs in and lands on "my work", filters the contracts ending within 30 days, opens one,
edits a field, is told what is wrong with a bad amount beside the field (with what was typed
kept), saves a good one; another rep's contract is not found. A rep submits a quote with a 15%
discount for approval from its page, their manager approves it from "my work" with a comment,
and the rep sees the outcome on the quote's page. Each page is screenshotted in
both languages into build/screenshots/workspace-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.designer.test_browser import SHOTS, Served, Visit, serving
from tests.renewals.world import TENANT, Renewals
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.slow
REP, BOSS, PASSWORD = "rep@acme.test", "boss@acme.test", "correct horse battery"
#: number, owner, days until its end
QUOTE = "华东精密 2027 续约报价"
PROCESS = re.compile("Quote discount approval|报价折扣审批")
CONTRACTS = [("HT-101", REP, 6), ("HT-102", REP, 25), ("HT-103", REP, 75), ("HT-104", REP, 300), ("HT-201", BOSS, 12)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    def prepare(installation: Installation) -> None:
        world = Renewals.create(installation)
        users = world.services.users(TENANT)
        for email in (REP, BOSS):
            users.set_password(email, PASSWORD)
        records, system, today = world.records(), Actor.system(), date.today()
        account = records.create(system, "account", {"name": "华东精密制造有限公司", "tier": "重点", "region": "华东"})["id"]
        for number, owner, days in CONTRACTS:
            records.create(system, "contract", {
                "number": number, "name": f"{number} 年度订阅", "account": account, "status": "生效",
                "start_date": (today - timedelta(days=365 - days)).isoformat(),
                "end_date": (today + timedelta(days=days)).isoformat(), "amount": "128000.00",
                "owner_id": world.ids[owner]})
        product = world.product("年度订阅服务", "200000.00")
        world.quote([{"product": product, "quantity": 1, "list_price": "200000.00", "uplift_pct": "0",
                      "discount_pct": "15"}], name=QUOTE)

    with serving(tmp_path_factory, "workspace", prepare) as running:
        yield running


def shoot(page: Any, name: str) -> None:
    """This page, its query kept, in both languages (ending in Chinese, the tenant's language)."""
    here = page.url.split("&lang=")[0].split("?lang=")[0]
    for lang in ("en", "zh-CN"):
        page.goto(f"{here}{'&' if '?' in here else '?'}lang={lang}")
        page.screenshot(path=str(SHOTS / f"{name}.{lang}.png"), full_page=True)


def numbers(page: Any) -> list[str]:
    return [n for n in page.locator("table.records tbody tr td:nth-child(2)").all_inner_texts() if n.startswith("HT-")]


def test_a_rep_filters_opens_edits_and_is_told_what_is_wrong(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    page = visit.sign_in(REP, PASSWORD)
    assert page.url.endswith(f"/t/{TENANT}/app/")  # a rep lands on their work, not the designer
    assert "HT-101" in page.inner_text("#ending") and "HT-201" not in page.inner_text("#ending")
    shoot(page, "workspace-home")

    visit.go(f"/t/{TENANT}/app/contract")
    assert sorted(numbers(page)) == ["HT-101", "HT-102", "HT-103", "HT-104"]  # their own only
    page.click("details summary")
    page.select_option("#list-filter select[name=f] >> nth=0", "days_to_end")
    page.select_option("#list-filter select[name=op] >> nth=0", "lte")
    page.fill("#list-filter input[name=v] >> nth=0", "30")
    page.select_option("#list-filter select[name=f] >> nth=1", "days_to_end")
    page.select_option("#list-filter select[name=op] >> nth=1", "gte")
    page.fill("#list-filter input[name=v] >> nth=1", "0")
    with page.expect_navigation():
        page.click("#list-filter button[type=submit]")
    assert sorted(numbers(page)) == ["HT-101", "HT-102"]
    shoot(page, "workspace-list")
    assert sorted(numbers(page)) == ["HT-101", "HT-102"]  # the language changed, not the view

    with page.expect_navigation():
        page.click("table.records tbody tr:has-text('HT-102') td:first-child a")
    assert page.inner_text("dd[data-field=number]") == "HT-102"
    shoot(page, "workspace-record")

    with page.expect_navigation():
        page.click("a.button[href$='/edit']")
    page.fill("#record-form [name=amount]", "-5")
    page.fill("#record-form [name=name]", "HT-102 年度订阅（续）")
    with page.expect_navigation():
        page.click("#record-form button[type=submit]")
    problem = page.locator(".field-error[data-field=amount]")
    assert problem.count() == 1 and "0" in problem.inner_text()
    assert page.input_value("#record-form [name=name]") == "HT-102 年度订阅（续）"  # what was typed is kept
    assert page.input_value("#record-form [name=amount]") == "-5"
    page.screenshot(path=str(SHOTS / "workspace-form-error.zh-CN.png"), full_page=True)

    page.fill("#record-form [name=amount]", "136000")
    with page.expect_navigation():
        page.click("#record-form button[type=submit]")
    assert page.inner_text("dd[data-field=amount]") == "136,000.00"
    assert "已保存" in page.inner_text("main")
    assert "128,000.00" in page.inner_text("main")  # the amount's history

    visit.go(f"/t/{TENANT}/app/contract/new?lang=en")  # the form in English, refused the same way
    page.fill("#record-form [name=amount]", "-5")
    with page.expect_navigation():
        page.click("#record-form button[type=submit]")
    assert page.locator(".field-error[data-field=amount]").count() == 1
    page.screenshot(path=str(SHOTS / "workspace-form-error.en.png"), full_page=True)
    assert visit.external() == []
    visit.close()


def test_a_rep_cannot_open_another_reps_contract(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    visit.sign_in(REP, PASSWORD)
    visit.go(f"/t/{TENANT}/app/contract?f=number&op=eq&v=HT-201")
    assert numbers(visit.page) == []
    installation = Installation(served.settings)
    try:
        found = TenantServices(installation).records(TENANT).list(Actor.system(), "contract", PageRequest(
            where={"number": {"_eq": "HT-201"}}))
        contract = found.records[0]["id"]  # the boss's
    finally:
        installation.dispose()
    response = visit.go(f"/t/{TENANT}/app/contract/{contract}")
    assert response.status == 404 and "HT-201" not in visit.page.inner_text("body")
    visit.close()


def test_a_quote_goes_for_approval_and_the_manager_approves_it_from_home(chromium: Any, served: Served) -> None:
    rep = Visit(chromium, served.url)
    page = rep.sign_in(REP, PASSWORD)
    rep.go(f"/t/{TENANT}/app/quote?lang=en")
    with page.expect_navigation():
        page.click(f"table.records tbody tr:has-text('{QUOTE}') td:first-child a")
    quote_page = page.url.split("?")[0]
    form = page.locator("#submit-approval")
    assert "Quote discount approval" in form.inner_text()
    form.locator("textarea[name=comment]").fill("客户承诺续约三年")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "Submitted for approval." in page.inner_text("main")
    pending = page.locator("#approvals tr[data-status=pending]")
    assert pending.count() == 1 and "王经理" in pending.inner_text() and "Manager" in pending.inner_text()
    assert page.locator("#submit-approval").count() == 0
    shoot(page, "workspace-approval-submitted")

    boss = Visit(chromium, served.url)
    home = boss.sign_in(BOSS, PASSWORD)
    boss.go(f"/t/{TENANT}/app/?lang=en")
    card = home.locator("#approvals .decide", has_text=PROCESS)
    assert card.count() == 1 and "Quote discount approval · Manager" in card.inner_text()
    shoot(home, "workspace-approval-home")
    card = home.locator("#approvals .decide", has_text=PROCESS)
    card.locator("textarea[name=comment]").fill("折扣合理，同意")
    with home.expect_navigation():
        card.locator("button[value=approve]").click()
    assert "已记录审批结果" in home.inner_text("main")  # the language chosen last (shoot ends in Chinese)
    assert home.locator("#approvals .decide", has_text=PROCESS).count() == 0
    boss.close()

    rep.go(f"{quote_page}?lang=en")
    approved = page.locator("#approvals tr[data-status=approved]")
    assert approved.count() == 1
    assert "approved" in approved.inner_text() and "折扣合理，同意" in approved.inner_text()
    assert page.inner_text("dd[data-field=status]") == "已批准"
    shoot(page, "workspace-approval-approved")
    assert rep.external() == []
    rep.close()
