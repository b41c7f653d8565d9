"""Approvals on a record's page over HTTP: submit with a comment where a process applies, the
pending request with its step and approver named in the user's language, recall by the
submitter, and the refusals (already pending, entry condition not met, not allowed, not
pending any more) worded in the page's language."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import Browser, csrf_of
from tests.renewals.test_discount_approval import quote_with
from tests.renewals.world import TENANT
from tests.workspace.conftest import BOSS, PASSWORD, REP, Workspace
from tests.workspace.test_home import section

pytestmark = pytest.mark.anyio

READER = "reader@acme.test"
QUOTE_READER = {"objects": {"quote": {"read": "all"}, "account": {"read": "all"}}}


async def _submit(browser: Browser, workspace: Workspace, quote: str, comment: str, lang: str = "en"):
    page = await browser.client.get(f"{workspace.app}/quote/{quote}?lang={lang}")
    form = section(page.text, "approvals")
    assert 'id="submit-approval"' in form, form
    return await browser.client.post(f"{workspace.app}/quote/{quote}/approval", data={
        "csrf": csrf_of(page.text), "process": "quote_discount", "comment": comment})


async def test_a_rep_submits_sees_it_pending_and_recalls_it(browser: Browser, workspace: Workspace):
    world = workspace.renewals
    quote = quote_with(world, "15")
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/quote/{quote}?lang=en")
    approvals = section(page.text, "approvals")
    assert "Quote discount approval" in approvals and "Submit for approval" in approvals
    submitted = await _submit(browser, workspace, quote, "客户续约三年")
    assert submitted.status_code == 303
    [request] = world.requests(quote)
    assert request["status"] == "pending" and request["comment"] == "客户续约三年"
    assert request["submitted_by"] == world.ids[REP]
    shown = await browser.client.get(submitted.headers["location"])
    approvals = section(shown.text, "approvals")
    assert "Submitted for approval." in shown.text
    assert "Quote discount approval" in approvals and "quote_discount" not in approvals.replace("/approval", "")
    assert "Manager: 王经理 — pending" in approvals and "客户续约三年" in approvals
    assert 'id="submit-approval"' not in approvals  # one pending request at a time: nothing more to submit
    again = await browser.client.post(f"{workspace.app}/quote/{quote}/approval", data={
        "csrf": csrf_of(shown.text), "process": "quote_discount", "comment": ""})
    assert again.status_code == 409 and "already waits for approval" in again.text
    assert len(world.requests(quote)) == 1

    recall = re.search(r'action="([^"]+/approval/([^"/]+)/recall)"', approvals)
    assert recall is not None
    other = quote_with(world, "12")  # the request is not that quote's: its page has no such request
    elsewhere = await browser.client.post(f"{workspace.app}/quote/{other}/approval/{recall.group(2)}/recall",
                                          data={"csrf": csrf_of(shown.text)})
    assert elsewhere.status_code == 404 and world.requests(quote)[0]["status"] == "pending"
    recalled = await browser.client.post(recall.group(1), data={"csrf": csrf_of(shown.text)})
    assert recalled.status_code == 303
    assert world.requests(quote)[0]["status"] == "recalled"
    after = await browser.client.get(recalled.headers["location"])
    approvals = section(after.text, "approvals")
    assert "The request was recalled." in after.text and ">recalled<" in approvals
    assert 'id="submit-approval"' in approvals  # it may be submitted again
    stale = await browser.client.post(recall.group(1), data={"csrf": csrf_of(after.text)})
    assert stale.status_code == 409 and "no longer pending" in stale.text


async def test_labels_and_refusals_in_chinese(browser: Browser, workspace: Workspace):
    world = workspace.renewals
    await browser.sign_in(REP, PASSWORD)
    small = quote_with(world, "5")  # 5% of ¥10,000: the entry condition does not hold
    refused = await _submit(browser, workspace, small, "", lang="zh-CN")
    assert refused.status_code == 400
    assert "此续约报价单无需“报价折扣审批”：不满足进入条件（max_discount_pct &gt; 10 or total &gt; 1000000）。" in refused.text
    assert world.requests(small) == []
    big = quote_with(world, "15")
    assert (await _submit(browser, workspace, big, "请审批", lang="zh-CN")).status_code == 303
    approvals = section((await browser.client.get(f"{workspace.app}/quote/{big}")).text, "approvals")
    assert "报价折扣审批" in approvals and "直属上级: 王经理 — 审批中" in approvals and "撤回" in approvals
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(approvals)})
    await browser.sign_in(BOSS, PASSWORD)
    home = section((await browser.client.get(f"{workspace.app}/?lang=zh-CN")).text, "approvals")
    assert "报价折扣审批 · 直属上级" in home


async def test_who_may_not_submit_or_recall_is_told_so(browser: Browser, workspace: Workspace):
    world = workspace.renewals
    store = world.services.store(TENANT)
    store.save_draft("role", "quote_reader", QUOTE_READER, author="test")
    store.publish_drafts(author="test", message="reads quotes, edits nothing")
    world.services.users(TENANT).create_user(READER, name="钱只读", roles=["quote_reader"], password=PASSWORD)
    quote = quote_with(world, "15")
    await browser.sign_in(READER, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/quote/{quote}?lang=en")
    assert page.status_code == 200 and 'id="submit-approval"' not in page.text  # not offered
    forced = await browser.client.post(f"{workspace.app}/quote/{quote}/approval", data={
        "csrf": csrf_of(page.text), "process": "quote_discount", "comment": ""})
    assert forced.status_code == 403 and "You may not submit this record for “Quote discount approval”." in forced.text
    assert world.requests(quote) == []
    unknown = await browser.client.post(f"{workspace.app}/quote/{quote}/approval", data={
        "csrf": csrf_of(page.text), "process": "nope", "comment": ""})
    assert unknown.status_code == 400 and "no active approval process “nope”" in unknown.text

    world.engine().submit(world.actor(REP), "quote", quote, "quote_discount", None)
    request = world.requests(quote)[0]["id"]
    page = await browser.client.get(f"{workspace.app}/quote/{quote}?lang=en")
    assert "/recall" not in section(page.text, "approvals")  # only the submitter recalls
    forced = await browser.client.post(f"{workspace.app}/quote/{quote}/approval/{request}/recall",
                                       data={"csrf": csrf_of(page.text)})
    assert forced.status_code == 403 and "Only the submitter" in forced.text
    assert world.requests(quote)[0]["status"] == "pending"
    missing = await browser.client.post(f"{workspace.app}/quote/{quote}/approval/nope/recall",
                                        data={"csrf": csrf_of(page.text)})
    assert missing.status_code == 404
