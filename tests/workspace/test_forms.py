"""Create and edit forms over HTTP: through the records service, errors beside their fields with
what was typed kept, lookups searched among readable records, stale edits shown not overwritten."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.designer.conftest import Browser, csrf_of
from tests.workspace.conftest import CLERK, PASSWORD, REP, Workspace
from trellis.runtime.access import Actor

pytestmark = pytest.mark.anyio


def hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def form_values(html: str) -> dict[str, str]:
    """What the record form would send as it stands: its inputs and each select's chosen option."""
    form = html.split('id="record-form"', 1)[1].split("</form>", 1)[0]
    values = dict(re.findall(r'<input type="(?:text|date)"[^>]* name="([^"]+)" value="([^"]*)"', form))
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        values[name] = chosen.group(1) if chosen else ""
    return values


def error_of(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" data-field="{name}">([^<]*)</span>', html)
    return found.group(1) if found else ""


async def test_a_rep_creates_a_contract_and_a_bad_form_keeps_what_was_typed(browser: Browser, workspace: Workspace):
    account = workspace.renewals.records().get(Actor.system(), "contract", workspace.contracts["HT-R7"])["account"]
    await browser.sign_in(REP, PASSWORD)
    form = await browser.client.get(f"{workspace.app}/contract/new?lang=en")
    assert form.status_code == 200 and 'name="days_to_end"' not in form.text  # a formula is not editable
    assert f'<option value="{account}"' in form.text  # the lookup's first choices
    typed = {"number": "HT-NEW", "name": "新合同", "account": account, "status": "生效", "start_date": "2026-01-01",
             "end_date": "2025-01-01", "amount": "-5", "auto_renew": "false"}
    bad = await browser.client.post(f"{workspace.app}/contract/new?lang=en", data={**hidden(form.text), **typed})
    assert bad.status_code == 400
    assert error_of(bad.text, "amount") and "0" in error_of(bad.text, "amount")
    assert 'value="HT-NEW"' in bad.text and 'value="-5"' in bad.text and 'value="2025-01-01"' in bad.text
    rule = await browser.client.post(f"{workspace.app}/contract/new?lang=en", data={
        **hidden(form.text), **typed, "amount": "5000"})
    assert rule.status_code == 400 and "The end date must not be before the start date." in rule.text, re.findall(r"(?:field-error|class=\"error\")[^<]*<", rule.text)
    good = await browser.client.post(f"{workspace.app}/contract/new", data={
        **hidden(form.text), **typed, "amount": "5000", "end_date": "2026-12-31"})
    assert good.status_code == 303, good.text[:1000]
    record = await browser.client.get(good.headers["location"] + "&lang=en")
    assert "Saved." in record.text and "HT-NEW" in record.text and "5,000.00" in record.text


async def test_a_lookup_is_searched_among_the_records_one_may_read(browser: Browser, workspace: Workspace):
    system = Actor.system()
    workspace.renewals.records().create(system, "account", {"name": "华南零售"})
    await browser.sign_in(REP, PASSWORD)
    options = await browser.client.get(f"{workspace.app}/contract/lookup?field=account&q=华南")
    assert options.status_code == 200
    assert "华南零售" in options.text and "华东制造" not in options.text
    assert (await browser.client.get(f"{workspace.app}/contract/lookup?field=name&q=x")).status_code == 404


async def test_an_edit_goes_through_the_records_service_with_its_rules(browser: Browser, workspace: Workspace):
    contract = workspace.contracts["HT-R20"]
    await browser.sign_in(REP, PASSWORD)
    form = await browser.client.get(f"{workspace.app}/contract/{contract}/edit?lang=en")
    assert form.status_code == 200 and 'value="HT-R20"' in form.text
    values = form_values(form.text)
    changed = await browser.client.post(f"{workspace.app}/contract/{contract}/edit", data={
        **hidden(form.text), **values, "name": "改过的名字"})
    assert changed.status_code == 303, re.findall(r"field-error[^<]*<", changed.text)
    assert workspace.renewals.records().get(Actor.system(), "contract", contract)["name"] == "改过的名字"


async def test_a_stale_edit_shows_both_versions_and_overwrites_nothing(browser: Browser, workspace: Workspace):
    contract = workspace.contracts["HT-R20"]
    await browser.sign_in(REP, PASSWORD)
    form = await browser.client.get(f"{workspace.app}/contract/{contract}/edit?lang=en")
    values = form_values(form.text)
    workspace.renewals.records().update(Actor.system(), "contract", contract, {"name": "别人先改了"})
    stale = await browser.client.post(f"{workspace.app}/contract/{contract}/edit?lang=en", data={
        **hidden(form.text), **values, "name": "我的修改"})
    assert stale.status_code == 409
    assert "Someone else saved this Contract" in stale.text
    conflict = stale.text.split('class="conflict"', 1)[1].split("</table>", 1)[0]
    assert "别人先改了" in conflict and "我的修改" in conflict
    assert 'value="我的修改"' in stale.text  # the form keeps the user's values
    assert workspace.renewals.records().get(Actor.system(), "contract", contract)["name"] == "别人先改了"
    again = await browser.client.post(f"{workspace.app}/contract/{contract}/edit", data={
        **hidden(stale.text), **values, "name": "我的修改"})
    assert again.status_code == 303  # saving again, having seen theirs, overwrites
    assert workspace.renewals.records().get(Actor.system(), "contract", contract)["name"] == "我的修改"


async def test_one_cannot_edit_what_one_may_not(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    assert (await browser.client.get(f"{workspace.app}/contract/{workspace.contracts['HT-B10']}/edit")).status_code == 404
    page = await browser.client.get(f"{workspace.app}/product?lang=en")
    assert "New Product" not in page.text
    assert (await browser.client.get(f"{workspace.app}/product/new")).status_code == 403
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(page.text)})
    await browser.sign_in(CLERK, PASSWORD)
    contract = workspace.contracts["HT-C15"]
    form = await browser.client.get(f"{workspace.app}/contract/{contract}/edit")
    assert form.status_code == 200 and 'name="amount"' not in form.text
    values = form_values(form.text)
    end = (date.today() + timedelta(days=40)).isoformat()
    sent = await browser.client.post(f"{workspace.app}/contract/{contract}/edit", data={
        **hidden(form.text), **values, "end_date": end, "amount": "1"})
    assert sent.status_code == 303
    saved = workspace.renewals.records().get(Actor.system(), "contract", contract)
    assert saved["end_date"].isoformat() == end and str(saved["amount"]) == "12000.00"  # the hidden field untouched
