"""A record's page over HTTP: labelled fields, lookups as links, related lists, field history,
approval history, score explanation; permissions; a deleted record's page and its restore."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import Browser, csrf_of
from tests.workspace.conftest import ADMIN, BOSS, CLERK, PASSWORD, REP, Workspace
from trellis.runtime.access import Actor

pytestmark = pytest.mark.anyio


def field(html: str, name: str) -> str:
    found = re.search(rf'<dd data-field="{name}">(.*?)</dd>', html, re.S)
    assert found, f"no field {name}"
    return found.group(1).strip()


async def test_a_record_page_shows_labelled_fields_links_and_history(browser: Browser, workspace: Workspace):
    contract = workspace.contracts["HT-R7"]
    workspace.renewals.records().update(Actor.system(), "contract", contract, {"amount": "15000"})
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{contract}?lang=zh-CN")
    assert page.status_code == 200, page.text[:800]
    assert "<dt>合同编号</dt>" in page.text and field(page.text, "number") == "HT-R7"
    assert field(page.text, "amount") == "15,000.00"
    account = workspace.renewals.records().get(Actor.system(), "contract", contract)["account"]
    assert field(page.text, "account") == f'<a href="{workspace.app}/account/{account}">华东制造</a>'
    assert field(page.text, "owner_id") == "李销售"
    history = page.text.split("字段历史", 1)[1]
    assert "合同金额" in history and "12,000.00" in history and "15,000.00" in history
    assert f'href="{workspace.app}/contract/{contract}/edit"' in page.text


async def test_related_lists_come_from_reverse_lookups_with_permissions(browser: Browser, workspace: Workspace):
    account = workspace.renewals.records().get(Actor.system(), "contract", workspace.contracts["HT-R7"])["account"]
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/account/{account}?lang=en")
    assert page.status_code == 200
    related = page.text.split('<h2>Contract <span class="muted">· Account</span></h2>', 1)[1].split("</table>", 1)[0]
    assert sorted(re.findall(r">(HT-[A-Z]\d+)<", related)) == ["HT-R20", "HT-R200", "HT-R60", "HT-R7"]  # not the boss's
    assert "customer_health" in page.text  # the account's score model, not run yet
    assert "Not scored yet." in page.text


async def test_another_reps_contract_is_not_found(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{workspace.contracts['HT-B10']}")
    assert page.status_code == 404 and "HT-B10" not in page.text
    assert (await browser.client.get(f"{workspace.app}/contract/no-such-id")).status_code == 404


async def test_a_hidden_field_is_not_on_the_record_page(browser: Browser, workspace: Workspace):
    contract = workspace.contracts["HT-C15"]
    workspace.renewals.records().update(Actor.system(), "contract", contract, {"amount": "15000"})
    await browser.sign_in(CLERK, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{contract}?lang=en")
    assert page.status_code == 200 and field(page.text, "number") == "HT-C15"
    assert 'data-field="amount"' not in page.text and "Amount" not in page.text
    assert "12,000" not in page.text and "15,000" not in page.text  # nor in its history


async def test_a_deleted_record_says_so_and_only_those_allowed_restore_it(browser: Browser, workspace: Workspace):
    contract = workspace.contracts["HT-R60"]
    await browser.sign_in(ADMIN, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{contract}?lang=en")
    deleted = await browser.client.post(f"{workspace.app}/contract/{contract}/delete", data={
        "csrf": csrf_of(page.text), "version": re.search(r'name="version" value="(\d+)"', page.text).group(1)})
    assert deleted.status_code == 303
    page = await browser.client.get(f"{workspace.app}/contract/{contract}")
    assert "This Contract was deleted on" in page.text and "/restore" in page.text
    listed = await browser.client.get(f"{workspace.app}/contract?c=number")
    assert "HT-R60" not in listed.text
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(page.text)})
    await browser.sign_in(REP, PASSWORD)  # the owner may read it but not delete, so not restore
    own = await browser.client.get(f"{workspace.app}/contract/{contract}?lang=en")
    assert "was deleted on" in own.text and "/restore" not in own.text and "Only someone allowed" in own.text
    refused = await browser.client.post(f"{workspace.app}/contract/{contract}/restore", data={"csrf": csrf_of(own.text)})
    assert refused.status_code == 403
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(own.text)})
    await browser.sign_in(ADMIN, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{contract}")
    restored = await browser.client.post(f"{workspace.app}/contract/{contract}/restore", data={"csrf": csrf_of(page.text)})
    assert restored.status_code == 303
    assert "was deleted" not in (await browser.client.get(f"{workspace.app}/contract/{contract}?lang=en")).text
    assert BOSS  # the boss's contracts are covered by the list tests
