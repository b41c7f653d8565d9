"""Generated list pages over HTTP: columns from metadata, filters, sorting, paging, CSV, saved
views, and permissions (own records only; a hidden field is absent everywhere)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.designer.conftest import Browser, csrf_of
from tests.workspace.conftest import CLERK, PASSWORD, REP, Workspace

pytestmark = pytest.mark.anyio


def numbers(html: str) -> list[str]:
    return re.findall(r">(HT-[A-Z]\d+)<", html)


def headers(html: str) -> list[str]:
    """The list's column headers (sort marks included)."""
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    return [h.strip() for h in re.findall(r"<th><a [^>]*>([^<]*)</a></th>", head)]


async def test_a_rep_lists_only_their_own_contracts(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract?lang=en")
    assert page.status_code == 200, page.text[:500]
    assert sorted(numbers(page.text)) == ["HT-R20", "HT-R200", "HT-R60", "HT-R7"]
    assert headers(page.text) == ["Name", "Number", "Account", "Status", "Start date", "End date"]


async def test_filters_sort_and_columns_come_from_the_query_string(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    expiring = "f=days_to_end&op=lte&v=30&f=days_to_end&op=gte&v=0&sort=end_date&dir=desc"
    page = await browser.client.get(f"{workspace.app}/contract?{expiring}&c=number&c=end_date&lang=en")
    assert page.status_code == 200, page.text[:800]
    assert numbers(page.text) == ["HT-R20", "HT-R7"]
    assert headers(page.text) == ["Number", "End date ▼"]  # the columns asked for
    ascending = await browser.client.get(f"{workspace.app}/contract?{expiring.replace('desc', 'asc')}")
    assert numbers(ascending.text) == ["HT-R7", "HT-R20"]


async def test_a_bad_filter_value_is_explained_and_nothing_is_listed(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract?f=end_date&op=lt&v=soon&lang=en")
    assert page.status_code == 400
    assert "end_date" in page.text and "YYYY-MM-DD" in page.text and numbers(page.text) == []
    unknown = await browser.client.get(f"{workspace.app}/contract?f=nope&op=eq&v=1&lang=en")
    assert unknown.status_code == 200 and "f: nope" in unknown.text and len(numbers(unknown.text)) == 4
    wrong_op = await browser.client.get(f"{workspace.app}/contract?f=auto_renew&op=contains&v=x&lang=en")
    assert "op: auto_renew contains" in wrong_op.text


async def test_cursor_paging_walks_every_record_once(browser: Browser, workspace: Workspace):
    from tests.workspace.conftest import many_contracts
    many_contracts(workspace, REP, 60)
    await browser.sign_in(REP, PASSWORD)
    seen: list[str] = []
    path = f"{workspace.app}/contract?c=number&sort=number"
    for _ in range(3):
        page = await browser.client.get(path)
        seen += numbers(page.text)
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
    assert len(seen) == 64 and len(set(seen)) == 64
    back = re.search(r'href="([^"]+)" rel="prev"', page.text)
    assert back is not None
    previous = await browser.client.get(back.group(1).replace("&amp;", "&"))
    assert len(numbers(previous.text)) == 50 and numbers(previous.text) == sorted(numbers(previous.text))


async def test_the_csv_is_the_current_view_with_formulas_neutralised(browser: Browser, workspace: Workspace):
    records = workspace.renewals.records()
    from trellis.runtime.access import Actor
    records.update(Actor.system(), "contract", workspace.contracts["HT-R7"], {"name": "=HYPERLINK(\"http://x\")"})
    await browser.sign_in(REP, PASSWORD)
    answer = await browser.client.get(f"{workspace.app}/contract/export.csv?c=number&c=name&c=end_date"
                                      "&f=days_to_end&op=lte&v=30&sort=number&lang=en")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["Number", "Name", "End date"]
    assert [r[0] for r in rows[1:]] == ["HT-R20", "HT-R7"]
    assert rows[2][1] == "'=HYPERLINK(\"http://x\")"


async def test_a_hidden_field_is_absent_from_list_filter_and_csv(browser: Browser, workspace: Workspace):
    await browser.sign_in(CLERK, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract?lang=en")
    assert numbers(page.text) == ["HT-C15"]
    assert "Amount" not in page.text and "12,000" not in page.text and 'value="amount"' not in page.text
    asked = await browser.client.get(f"{workspace.app}/contract?c=amount&f=amount&op=gt&v=0&sort=amount&lang=en")
    assert "12,000" not in asked.text and numbers(asked.text) == ["HT-C15"]
    assert "c: amount" in asked.text and "f: amount" in asked.text
    exported = await browser.client.get(f"{workspace.app}/contract/export.csv?c=number&c=amount&lang=en")
    assert exported.status_code == 200
    assert "12000" not in exported.text and "Amount" not in exported.text and "HT-C15" in exported.text


async def test_saved_views_are_per_user(browser: Browser, workspace: Workspace):
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract?f=days_to_end&op=lte&v=30&c=number&lang=en")
    saved = await browser.client.post(f"{workspace.app}/contract/views", data={
        "csrf": csrf_of(page.text), "name": "30 天内到期", "query": "f=days_to_end&op=lte&v=30&c=number"})
    assert saved.status_code == 303
    listed = await browser.client.get(saved.headers["location"])
    assert "30 天内到期" in listed.text and numbers(listed.text) == ["HT-R7", "HT-R20"] or \
        sorted(numbers(listed.text)) == ["HT-R20", "HT-R7"]
    link = re.search(r'<a href="([^"]+)">30 天内到期</a>', listed.text)
    assert link is not None
    again = await browser.client.get(link.group(1).replace("&amp;", "&"))
    assert sorted(numbers(again.text)) == ["HT-R20", "HT-R7"]
    nameless = await browser.client.post(f"{workspace.app}/contract/views", data={
        "csrf": csrf_of(page.text), "name": " ", "query": "c=number"})
    assert nameless.status_code == 400 and "name" in nameless.text
    await browser.client.post("/t/acme/logout", data={"csrf": csrf_of(page.text)})
    await browser.sign_in(CLERK, PASSWORD)
    theirs = await browser.client.get(f"{workspace.app}/contract")
    assert "30 天内到期" not in theirs.text


async def test_unknown_or_unreadable_objects_are_not_found(browser: Browser, workspace: Workspace):
    await browser.sign_in(CLERK, PASSWORD)
    assert (await browser.client.get(f"{workspace.app}/nope")).status_code == 404
    assert (await browser.client.get(f"{workspace.app}/invoice")).status_code == 404
    assert (await browser.client.get(f"{workspace.app}/invoice/export.csv")).status_code == 404


async def test_anonymous_visitors_are_sent_to_sign_in_and_reps_land_in_the_workspace(browser: Browser,
                                                                                     workspace: Workspace):
    anonymous = await browser.client.get(f"{workspace.app}/contract")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/t/acme/login?next=")
    signed_in = await browser.sign_in(REP, PASSWORD)
    assert signed_in.headers["location"] == "/t/acme/"
    landing = await browser.client.get("/t/acme/")
    assert landing.status_code == 303 and landing.headers["location"] == "/t/acme/app/"
    assert (await browser.client.get("/t/acme/users")).status_code == 403
