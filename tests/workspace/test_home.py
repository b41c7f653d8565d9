"""My work over HTTP: my contracts ending in 7/30/90 days, my customers at risk, my pending
approvals decided in place, my tasks and my notifications."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from tests.designer.conftest import Browser, csrf_of
from tests.renewals.test_discount_approval import quote_with, submit
from tests.renewals.world import TENANT
from tests.workspace.conftest import BOSS, PASSWORD, REP, Workspace
from trellis.runtime.access import Actor
from trellis.runtime.inbox.tables import notifications, tasks

pytestmark = pytest.mark.anyio


def section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


def numbers(html: str) -> list[str]:
    return re.findall(r">(HT-[A-Z]\d+)<", html)


async def test_my_contracts_ending_soon_by_window(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    home = await browser.client.get(f"{workspace.app}/?lang=en")
    assert home.status_code == 200
    assert numbers(section(home.text, "ending")) == ["HT-R7", "HT-R20"]  # 30 days, soonest first; not the boss's
    assert numbers(section((await browser.client.get(f"{workspace.app}/?within=7")).text, "ending")) == ["HT-R7"]
    assert numbers(section((await browser.client.get(f"{workspace.app}/?within=90")).text, "ending")) == [
        "HT-R7", "HT-R20", "HT-R60"]
    everything = re.search(r'<a href="([^"]+)">All of them</a>', section(home.text, "ending"))
    assert everything is not None
    listed = await browser.client.get(everything.group(1).replace("&amp;", "&"))
    assert sorted(numbers(listed.text)) == ["HT-R20", "HT-R7"]


async def test_my_customers_at_risk(browser: Browser, workspace: Workspace):
    system = Actor.system()
    records = workspace.renewals.records()
    records.create(system, "account", {"name": "风险客户甲", "health_band": "风险", "owner_id": workspace.renewals.ids[REP]})
    records.create(system, "account", {"name": "健康客户乙", "health_band": "健康", "owner_id": workspace.renewals.ids[REP]})
    records.create(system, "account", {"name": "别人的风险客户", "health_band": "风险", "owner_id": workspace.renewals.ids[BOSS]})
    await browser.sign_in(REP, PASSWORD)
    at_risk = section((await browser.client.get(f"{workspace.app}/")).text, "at-risk")
    assert "风险客户甲" in at_risk and "健康客户乙" not in at_risk and "别人的风险客户" not in at_risk


async def test_a_manager_approves_in_place_with_a_comment(browser: Browser, workspace: Workspace):
    world = workspace.renewals
    quote = quote_with(world, "15")
    submit(world, quote)
    await browser.sign_in(BOSS, PASSWORD)
    home = await browser.client.get(f"{workspace.app}/?lang=en")
    approvals = section(home.text, "approvals")
    assert "Quote discount approval" in approvals and "李销售" in approvals
    action = re.search(r'action="([^"]+/-/approvals/[^"]+)"', approvals)
    assert action is not None
    decided = await browser.client.post(action.group(1), data={
        "csrf": csrf_of(home.text), "decision": "approve", "comment": "折扣合理"})
    assert decided.status_code == 303
    assert world.get("quote", quote)["status"] == "已批准"
    after = await browser.client.get(decided.headers["location"] + "&lang=en")
    assert "Decision recorded." in after.text and "Quote discount approval" not in section(after.text, "approvals")
    again = await browser.client.post(action.group(1), data={"csrf": csrf_of(home.text), "decision": "approve"})
    assert again.status_code in (403, 409)  # nothing waits for this manager any more
    undecided = await browser.client.post(action.group(1), data={"csrf": csrf_of(home.text), "decision": "maybe"})
    assert undecided.status_code == 400 and "Choose approve or reject." in undecided.text
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(home.text)})
    await browser.sign_in(REP, PASSWORD)  # the quote is the rep's: the manager may approve it, not read it
    record = await browser.client.get(f"{workspace.app}/quote/{quote}?lang=en")
    history = record.text.split("<h2>Approvals</h2>", 1)[1]
    assert "approved" in history and "折扣合理" in history and "王经理" in history


async def test_my_tasks_and_notifications(browser: Browser, workspace: Workspace):
    rep, contract = workspace.renewals.ids[REP], workspace.contracts["HT-R7"]
    now = datetime.now(UTC)
    with workspace.renewals.services.database(TENANT).write() as conn:
        conn.execute(insert(tasks).values(id="t1", title="给客户打电话", description="", assignee_id=rep, object="contract",
                                          record_id=contract, due_date=None, status="open", created_at=now))
        conn.execute(insert(tasks).values(id="t2", title="别人的任务", description="", assignee_id=workspace.renewals.ids[BOSS],
                                          status="open", created_at=now))
        conn.execute(insert(notifications).values(id="n1", user_id=rep, title="合同即将到期", body="HT-R7 七天后到期",
                                                  object="contract", record_id=contract, created_at=now))
        conn.execute(insert(notifications).values(id="n2", user_id=rep, title="第二条", body="", created_at=now))
    await browser.sign_in(REP, PASSWORD)
    home = await browser.client.get(f"{workspace.app}/")
    mine = section(home.text, "tasks")
    assert "给客户打电话" in mine and "别人的任务" not in mine and f"/contract/{contract}" in mine
    inbox = section(home.text, "notifications")
    assert inbox.count('class="unread"') == 2 and "HT-R7 七天后到期" in inbox
    read = await browser.client.post(f"{workspace.app}/-/notifications/read", data={"csrf": csrf_of(home.text), "id": "n1"})
    assert read.status_code == 303
    assert section((await browser.client.get(f"{workspace.app}/")).text, "notifications").count('class="unread"') == 1
    await browser.client.post(f"{workspace.app}/-/notifications/read", data={"csrf": csrf_of(home.text), "all": "1"})
    assert 'class="unread"' not in section((await browser.client.get(f"{workspace.app}/")).text, "notifications")
    done = await browser.client.post(f"{workspace.app}/-/tasks/t1/done", data={"csrf": csrf_of(home.text)})
    assert done.status_code == 303
    assert "给客户打电话" not in section((await browser.client.get(f"{workspace.app}/")).text, "tasks")
    theirs = await browser.client.post(f"{workspace.app}/-/tasks/t2/done", data={"csrf": csrf_of(home.text)})
    assert theirs.status_code == 403


async def test_the_objects_page_lists_what_one_may_read(browser: Browser, workspace: Workspace):
    from tests.workspace.conftest import CLERK
    await browser.sign_in(CLERK, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/-/objects?lang=en")
    assert re.findall(r'<li><a href="[^"]+/app/(\w+)">', page.text) == ["account", "contract"]
