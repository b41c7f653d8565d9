"""The KPI dashboard over HTTP: its figures are the metrics service's for the signed-in user and
the chosen period, a rep sees only their own, every number opens exactly the records behind it,
the period picker moves the period, and bad input is answered with a clear message."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest

from tests.designer.conftest import Browser
from tests.renewals.world import TENANT
from tests.workspace.conftest import ADMIN, BOSS, CLERK, PASSWORD, REP, Workspace
from trellis.runtime.access import Actor
from trellis.runtime.errors import Forbidden
from trellis.runtime.metrics.service import answer
from trellis.runtime.records.service import RecordsService
from trellis.workspace.dashboard import shown

pytestmark = pytest.mark.anyio

IN_PERIOD = ("grr", "logo_churn", "nrr", "renewal_rate_count", "renewal_rate_value")


def decided(workspace: Workspace) -> dict[str, str]:
    """Contracts that ended in 2025 with their outcome: number → id. A renewed one's renewal is
    a new contract (`renewal_of`, ending in 2099) whose amount is the old one's renewed amount.

    In 2025-Q2 the rep has two renewed (10000 → 11000, 5000 → 4000) and one expired (3000); the
    boss one renewed (8000 → 8000). In 2025-Q1 the rep has one renewed (2000 → 2000)."""
    world = workspace.renewals
    account = world.records().get(Actor.system(), "contract", workspace.contracts["HT-R7"])["account"]
    rows = [("HT-D1", REP, "已续约", "2025-04-15", "10000.00", "11000.00"),
            ("HT-D2", REP, "已续约", "2025-05-20", "5000.00", "4000.00"),
            ("HT-D3", REP, "已到期", "2025-06-30", "3000.00", None),
            ("HT-D4", BOSS, "已续约", "2025-05-01", "8000.00", "8000.00"),
            ("HT-D5", REP, "已续约", "2025-02-10", "2000.00", "2000.00")]

    def contract(number: str, owner: str, status: str, start: str, end: str, amount: str) -> dict[str, str]:
        return {"number": number, "name": f"{number} 服务", "account": account, "status": status, "start_date": start,
                "end_date": end, "amount": amount, "owner_id": world.ids[owner]}

    created = world.records().create_many(Actor.system(), "contract", [
        contract(number, owner, status, "2024-01-01", end, amount) for number, owner, status, end, amount, _ in rows])
    ids = {row[0]: str(new) for row, new in zip(rows, created.ids, strict=True)}
    world.records().create_many(Actor.system(), "contract", [
        {**contract(f"HT-N{number[4:]}", owner, "生效", end, "2099-12-31", renewed), "renewal_of": ids[number]}
        for number, owner, _, end, _, renewed in rows if renewed])
    return ids


def served_records(workspace: Workspace) -> RecordsService:
    """The records service as the server has it (today's date; the world's is a fixed day)."""
    return workspace.renewals.services.records(TENANT)


def card(page: str, name: str) -> str:
    return page.split(f'<article class="kpi" id="kpi-{name}">', 1)[1].split("</article>", 1)[0]


def value_of(page: str, name: str) -> str:
    found = re.search(r'<p class="value">(?:<a href="[^"]*">)?([^<]*)', card(page, name))
    assert found is not None, name
    return found.group(1)


def links(fragment: str) -> list[tuple[str, str]]:
    """(href, text) of the links in a piece of the page."""
    return [(html.unescape(href), text) for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]*)</a>', fragment)]


def numbers(page: str) -> list[str]:
    table = page.split('<table class="records" id="drill-down">', 1)[1].split("</table>", 1)[0]
    return sorted(re.findall(r">(HT-[A-Z]\d+)<", table))


async def dashboard(browser: Browser, workspace: Workspace, query: str = "") -> str:
    page = await browser.client.get(f"{workspace.app}/dashboard?lang=en{query}")
    assert page.status_code == 200, page.text[:2000]
    return page.text


async def test_the_figures_are_the_metrics_services_for_the_user_and_period(browser: Browser, workspace: Workspace):
    decided(workspace)
    await browser.sign_in(REP, PASSWORD)
    page = await dashboard(browser, workspace, "&period=2025-Q2")
    records, rep = served_records(workspace), workspace.renewals.actor(REP)
    for name in IN_PERIOD:
        expected = answer(records, rep, name, "2025-Q2")
        assert value_of(page, name) == shown(expected.metric.format, expected.total.value), name
    for name in ("expiring_30d", "expiring_60d", "expiring_90d"):
        expected = answer(records, rep, name)
        assert value_of(page, name) == shown(expected.metric.format, expected.total.value), name
    for name in ("receivables", "overdue_receivables"):  # a rep may not read invoices: not on the page
        with pytest.raises(Forbidden):
            answer(records, rep, name)
        assert f'id="kpi-{name}"' not in page and f'data-kpi="{name}"' not in page
    # by hand: the rep's 2025-Q2 contracts: 2 of 3 renewed; 15000 of 18000 by value and after renewal
    assert value_of(page, "renewal_rate_count") == "66.7%"
    assert [text for _, text in links(card(page, "renewal_rate_count").split('class="parts')[1])] == ["2", "3"]
    assert value_of(page, "renewal_rate_value") == "83.3%" and value_of(page, "nrr") == "83.3%"
    assert value_of(page, "logo_churn") == "33.3%"
    assert value_of(page, "expiring_30d") == "24,000.00"  # HT-R7 and HT-R20, 12000 each; not the boss's HT-B10
    assert "In Q2 2025" in page


async def test_a_rep_sees_their_own_numbers_and_an_admin_everyones(browser: Browser, workspace: Workspace):
    decided(workspace)
    account = workspace.renewals.records().get(Actor.system(), "contract", workspace.contracts["HT-R7"])["account"]
    workspace.renewals.records().create_many(Actor.system(), "invoice", [  # unpaid: 500 overdue, 1000 not yet due
        {"number": "INV-1", "account": account, "amount": "500.00", "due_date": "2025-01-31"},
        {"number": "INV-2", "account": account, "amount": "1000.00", "due_date": "2099-01-31"},
        {"number": "INV-3", "account": account, "amount": "700.00", "due_date": "2025-01-31", "paid_date": "2025-01-20"}])
    await browser.sign_in(BOSS, PASSWORD)
    boss = await dashboard(browser, workspace, "&period=2025-Q2&by=owner_id")
    assert value_of(boss, "renewal_rate_count") == "100.0%" and value_of(boss, "expiring_30d") == "12,000.00"
    rows = re.findall(r'<th scope="row">([^<]*)</th>', boss.split('id="breakdown"', 1)[1])
    assert rows == ["王经理"]
    await browser.client.post("/t/acme/logout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', boss)[1]})
    await browser.sign_in(ADMIN, PASSWORD)
    admin = await dashboard(browser, workspace, "&period=2025-Q2&by=owner_id")
    assert value_of(admin, "renewal_rate_count") == "75.0%"  # 3 of the 4 decided, everyone's
    assert value_of(admin, "receivables") == "1,500.00" and value_of(admin, "overdue_receivables") == "500.00"
    rows = re.findall(r'<th scope="row">([^<]*)</th>', admin.split('id="breakdown"', 1)[1])
    assert set(rows) >= {"王经理", "李销售"}


async def test_each_number_opens_exactly_the_records_behind_it(browser: Browser, workspace: Workspace):
    decided(workspace)
    await browser.sign_in(ADMIN, PASSWORD)
    page = await dashboard(browser, workspace, "&period=2025-Q2&by=owner_id")
    renewed, decided_ = links(card(page, "renewal_rate_count").split('class="parts')[1])
    assert numbers((await browser.client.get(renewed[0] + "&lang=en")).text) == ["HT-D1", "HT-D2", "HT-D4"]
    assert numbers((await browser.client.get(decided_[0] + "&lang=en")).text) == ["HT-D1", "HT-D2", "HT-D3", "HT-D4"]
    expiring = links(card(page, "expiring_30d"))[0][0]
    assert numbers((await browser.client.get(expiring)).text) == ["HT-B10", "HT-C15", "HT-R20", "HT-R7"]
    breakdown = page.split('id="breakdown"', 1)[1]
    boss_row = breakdown.split('<th scope="row">王经理</th>', 1)[1].split("</tr>", 1)[0]
    cell = re.search(r'data-kpi="renewal_rate_count"><a href="([^"]+)">([^<]*)<', boss_row)
    assert cell is not None and cell.group(2) == "100.0%"
    behind = await browser.client.get(html.unescape(cell.group(1)) + "&lang=en")
    assert numbers(behind.text) == ["HT-D4"] and "Owner: 王经理" in behind.text and "Period: Q2 2025" in behind.text
    # a group the grouping leaves blank (the account has no region) opens the records with no region
    regions = (await dashboard(browser, workspace, "&period=2025-Q2&by=account.region")).split('id="breakdown"', 1)[1]
    blank_row = regions.split('<th scope="row">(blank)</th>', 1)[1].split("</tr>", 1)[0]
    blank = re.search(r'data-kpi="expiring_30d"><a href="([^"]+)">48,000.00<', blank_row)  # 4 × 12000
    assert blank is not None and "key=" not in blank.group(1)
    assert numbers((await browser.client.get(html.unescape(blank.group(1)))).text) == [
        "HT-B10", "HT-C15", "HT-R20", "HT-R7"]
    # the rep following the admin's link sees only what is theirs behind it
    await browser.client.post("/t/acme/logout", data={"csrf": re.search(r'name="csrf" value="([^"]+)"', page)[1]})
    await browser.sign_in(REP, PASSWORD)
    assert numbers((await browser.client.get(decided_[0])).text) == ["HT-D1", "HT-D2", "HT-D3"]
    assert numbers((await browser.client.get(html.unescape(cell.group(1)))).text) == []


async def test_the_period_picker_moves_the_period(browser: Browser, workspace: Workspace):
    decided(workspace)
    await browser.sign_in(REP, PASSWORD)
    page = await dashboard(browser, workspace, "&period=2025-Q2")
    previous = re.search(r'<a href="([^"]+)" class="button secondary" id="previous">', page)
    assert previous is not None
    earlier = (await browser.client.get(html.unescape(previous.group(1)) + "&lang=en")).text
    assert 'data-period="2025-Q1"' in earlier and value_of(earlier, "renewal_rate_count") == "100.0%"
    following = re.search(r'<a href="([^"]+)" class="button secondary" id="next">', page)
    assert following is not None and "period=2025-Q3" in following.group(1)
    later = await dashboard(browser, workspace, "&period=2025-Q3")
    assert value_of(later, "renewal_rate_count") == "—"  # nothing decided: nothing to divide by
    units = dict((text, href) for href, text in links(page.split('class="tabs units"', 1)[1].split("</span>", 1)[0]))
    year = (await browser.client.get(units["Year"] + "&lang=en")).text
    assert 'data-period="2025"' in year and value_of(year, "renewal_rate_count") == "75.0%"  # 3 of 4 in 2025
    month = (await browser.client.get(units["Month"] + "&lang=en")).text
    assert 'data-period="2025-04"' in month and value_of(month, "renewal_rate_count") == "100.0%"
    trend = json.loads(html.unescape(page.split('id="dashboard-charts">', 1)[1].split("</script>", 1)[0]))
    rate = trend["renewal_rate_count"]
    assert rate["labels"][-2:] == ["Q1 2025", "Q2 2025"] and len(rate["labels"]) == 6
    assert rate["values"][-2:] == [100.0, float(Decimal("0.666667") * 100)] and rate["values"][0] is None
    assert "period=2025-Q1" in rate["links"][-2]
    default = await dashboard(browser, workspace)
    today = served_records(workspace).context().today
    assert f'data-period="{today.year}-Q{(today.month - 1) // 3 + 1}"' in default


@pytest.mark.parametrize("period, why", [
    ("2025-13", "'2025-13': the month must be from 01 to 12"),
    ("next week", "'next week': not a month, quarter or year"),
    ("0999", "the year must be from 1900 to 9998"),
])
async def test_a_bad_period_gets_a_clear_message(browser: Browser, workspace: Workspace, period: str, why: str):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/dashboard", params={"period": period, "lang": "en"})
    assert page.status_code == 400
    shown_text = html.unescape(page.text)
    assert "Cannot show the dashboard — period:" in shown_text and why in shown_text
    assert "expected a month (2026-11), a quarter (2026-Q3) or a year (2026)" in shown_text
    chinese = await browser.client.get(f"{workspace.app}/dashboard", params={"period": period, "lang": "zh-CN"})
    assert chinese.status_code == 400 and "无法显示仪表盘" in chinese.text


async def test_bad_breakdowns_and_drill_downs_get_clear_messages(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    by = await browser.client.get(f"{workspace.app}/dashboard?lang=en&by=amount")
    assert by.status_code == 400 and ("Cannot show the dashboard — by: 'amount' is not a breakdown; expected one of "
                                      "owner_id, account.tier, account.region") in html.unescape(by.text)
    drill = f"{workspace.app}/dashboard/records?lang=en"
    unknown = await browser.client.get(f"{drill}&metric=nope")
    assert unknown.status_code == 404 and "no metric named 'nope'" in html.unescape(unknown.text)
    side = await browser.client.get(f"{drill}&metric=expiring_30d&side=denominator")
    assert side.status_code == 400 and "side: expected numerator" in side.text
    group = await browser.client.get(f"{drill}&metric=expiring_30d&by=amount&key=x")
    assert group.status_code == 400 and ("expiring_30d may be grouped by owner_id, account.tier, account.region; "
                                         "got 'amount'") in html.unescape(group.text)
    hidden = await browser.client.get(f"{drill}&metric=receivables")  # a rep may not read invoices
    assert hidden.status_code == 403
    period = await browser.client.get(f"{drill}&metric=nrr&period=2025-99")
    assert period.status_code == 400 and "period:" in period.text


async def test_a_kpi_over_a_field_one_may_not_read_is_not_shown(browser: Browser, workspace: Workspace):
    await browser.sign_in(CLERK, PASSWORD)  # may not read contract amounts
    page = await dashboard(browser, workspace, "&period=2025-Q2")
    for name in ("renewal_rate_value", "nrr", "grr", "expiring_30d"):
        assert "Not available to you: it uses a field you may not read.<br><small>the metric reads amount" in card(page, name)
        assert 'class="value"' not in card(page, name)
    assert value_of(page, "renewal_rate_count") == "—" and value_of(page, "logo_churn") == "—"
    behind = await browser.client.get(f"{workspace.app}/dashboard/records?lang=en&metric=expiring_30d")
    assert numbers(behind.text) == ["HT-C15"] and "<th>Amount</th>" not in behind.text  # their record, no amount


async def test_the_dashboard_names_no_other_site_and_has_no_inline_script(browser: Browser, workspace: Workspace):
    await browser.sign_in(ADMIN, PASSWORD)
    for lang in ("en", "zh-CN"):
        page = (await browser.client.get(f"{workspace.app}/dashboard?lang={lang}")).text
        assert not re.search(r'(?:src|href|action)\s*=\s*["\']?\s*(?:[a-z][a-z0-9+.-]*:|//)', page, re.IGNORECASE)
        assert "<script>" not in page and not re.search(r"\son[a-z]+=", page)
        assert '/static/vendor/echarts/echarts.min.js' in page
        assert f'href="{workspace.app}/dashboard"' in page  # in the nav
    assert (await browser.client.get("/static/vendor/echarts/echarts.min.js")).status_code == 200
    assert (await browser.client.get("/static/workspace/dashboard.js")).status_code == 200


async def test_one_who_may_read_no_kpi_is_told_so(browser: Browser, workspace: Workspace):
    workspace.renewals.services.users(TENANT).create_user("nobody@acme.test", name="无角色", roles=[], password=PASSWORD)
    await browser.sign_in("nobody@acme.test", PASSWORD)
    page = await dashboard(browser, workspace)
    assert 'id="no-kpis"' in page and 'class="kpi"' not in page and 'id="breakdown"' not in page
