"""Roles and their object and field permissions edited in the designer's grid, on both databases:
drafts with the version check, errors beside their cell with the entries kept, the edited field
permission in force for the role's users after publishing, and a held role that is not removed."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import REP, Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore, item_version
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
ROLES = f"/t/{TENANT}/roles"


def store(browser: Browser) -> MetadataStore:
    return MetadataStore(browser.installation.database(TENANT))


def grid(page: str) -> dict[str, str]:
    """The grid's cells as the page shows them: selects' chosen options and ticked boxes."""
    cells = {name: value for name, value in re.findall(
        r'<select name="([^"]+)"[^>]*>(?:(?!</select>).)*?<option value="([^"]+)" selected', page, re.DOTALL)}
    cells.update({name: "on" for name in re.findall(r'<input type="checkbox" name="([^"]+)"[^>]*checked', page)})
    return cells


async def test_the_list_shows_each_role_with_its_holders_and_a_new_role_is_a_draft(browser: Browser) -> None:
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}?lang=en")
    assert re.search(rf'id="role-rep">.*?{REP}', page, re.DOTALL) and 'id="role-support"' in page
    for bad, why in (("", "Enter a value"), ("Sales Rep", "lowercase"), ("admin", "already exists"),
                     ("rep", "already exists")):
        refused = await browser.client.post(ROLES, data={"csrf": hidden["csrf"], "name": bad, "label_zh": "销售"})
        assert refused.status_code == 422 and why in refused.text and 'data-field="name"' in refused.text, bad
        assert 'value="销售"' in refused.text  # what was typed is kept
    made = await browser.client.post(ROLES, data={"csrf": hidden["csrf"], "name": "auditor", "label_en": "Auditor",
                                                  "label_zh": "审计"})
    assert made.status_code == 303 and made.headers["location"] == f"{ROLES}/auditor?done=saved"
    assert store(browser).drafts() == {("role", "auditor"): {"objects": {}, "x-label": {"en": "Auditor",
                                                                                         "zh-CN": "审计"}}}
    again = await browser.client.post(ROLES, data={"csrf": hidden["csrf"], "name": "auditor", "label_en": "A"})
    assert again.status_code == 422  # the draft's name is taken too


async def test_the_grid_shows_the_role_and_saves_what_is_changed_as_a_draft(browser: Browser) -> None:
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}/rep?lang=en")
    cells = grid(page)
    assert cells["create.contract"] == "on" and cells["read.contract"] == "all" and cells["read.account"] == "all"
    assert cells["field.contract.amount"] == "none" and cells["field.contract.number"] == "edit"
    assert cells["update.account"] == "none" and "create.account" not in cells and "field.contract.id" not in cells
    assert REP in page  # who holds it
    saved = await browser.client.post(f"{ROLES}/rep", data={
        **hidden, **cells, "read.contract": "own", "update.contract": "own", "delete.contract": "none",
        "field.contract.amount": "read", "field.contract.number": "none", "create.ticket": "on", "read.ticket": "all"})
    assert saved.status_code == 303, saved.text[:3000]
    assert store(browser).drafts()[("role", "rep")] == {"objects": {
        "account": {"read": "all"},
        "contract": {"create": True, "read": "own", "update": "own", "fields": {"amount": "read", "number": "none"}},
        "ticket": {"create": True, "read": "all"}}}
    shown = grid((await browser.client.get(f"{ROLES}/rep")).text)
    assert shown["read.contract"] == "own" and shown["field.contract.number"] == "none"


async def test_an_error_is_shown_beside_its_cell_and_the_grid_keeps_what_was_chosen(browser: Browser) -> None:
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}/rep?lang=en")
    cells = grid(page)
    before = store(browser).drafts()
    refused = await browser.client.post(f"{ROLES}/rep", data={
        **hidden, **cells, "read.contract": "own", "update.contract": "all", "field.contract.amount": "read",
        "read.ticket": "everything"})
    assert refused.status_code == 422
    assert re.search(r'data-field="update.contract">[^<]*reaches further than read', refused.text)
    assert re.search(r'data-field="read.ticket">[^<]*expected', refused.text)
    kept = grid(refused.text)
    assert kept["read.contract"] == "own" and kept["update.contract"] == "all"
    assert kept["field.contract.amount"] == "read"
    assert store(browser).drafts() == before  # nothing saved
    field = await browser.client.post(f"{ROLES}/rep", data={**hidden, **cells, "field.contract.amount": "write"})
    assert field.status_code == 422
    assert re.search(r'data-field="field.contract.amount">expected one of none, read, edit; got', field.text)


async def test_a_grant_on_an_object_that_is_gone_is_shown_on_its_row_and_can_be_cleared(browser: Browser) -> None:
    store(browser).save_draft("role", "support", {"objects": {"ghost": {"read": "all"}, "ticket": {"read": "all"}}},
                              "cli")
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}/support?lang=en")
    assert 'id="grant-ghost"' in page and grid(page)["read.ghost"] == "all"
    kept = await browser.client.post(f"{ROLES}/support", data={**hidden, **grid(page)})
    assert kept.status_code == 422 and re.search(r'data-field="read.ghost">[^<]*not an object', kept.text)
    cleared = await browser.client.post(f"{ROLES}/support", data={**hidden, **grid(page), "read.ghost": "none"})
    assert cleared.status_code == 303
    assert store(browser).drafts()[("role", "support")] == {"objects": {"ticket": {"read": "all"}}}


async def test_a_role_changed_by_someone_else_meanwhile_is_not_overwritten(browser: Browser) -> None:
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}/support")
    other = {"objects": {"ticket": {"read": "own"}}}
    store(browser).save_draft("role", "support", other, "someone", expected=hidden["version"])
    conflict = await browser.client.post(f"{ROLES}/support", data={**hidden, **grid(page), "read.ticket": "all"})
    assert conflict.status_code == 409 and store(browser).drafts()[("role", "support")] == other
    assert re.search(r'<option value="all" selected', conflict.text)  # what the admin chose is still there


async def _rep_reads(browser: Browser, token: str) -> dict[str, object]:
    answer = await browser.client.post(f"/t/{TENANT}/graphql", headers={"Authorization": f"Bearer {token}"},
                                       json={"query": "{ contracts { nodes { amount } } }"})
    result: dict[str, object] = answer.json()
    return result


async def test_a_field_permission_edited_here_holds_for_the_roles_users_after_publishing(
        browser: Browser, services: TenantServices) -> None:
    account = services.records(TENANT).create(Actor.system(), "account", {"name": "Acme"})
    services.records(TENANT).create(Actor.system(), "contract", {"number": "C-1", "account": account["id"],
                                                                 "amount": 1000})
    _, token = services.users(TENANT).create_token(REP)
    hidden_amount = {"data": {"contracts": {"nodes": [{"amount": None}]}}}  # a hidden field reads as null
    assert await _rep_reads(browser, token) == hidden_amount
    await browser.sign_in()
    page, hidden = await browser.form(f"{ROLES}/rep")
    saved = await browser.client.post(f"{ROLES}/rep", data={**hidden, **grid(page), "field.contract.amount": "read"})
    assert saved.status_code == 303
    assert await _rep_reads(browser, token) == hidden_amount  # a draft: not in force yet
    published = await browser.submit(f"/t/{TENANT}/publish", {"message": "reps see amounts"})
    assert published.status_code == 303 and store(browser).drafts() == {}
    assert await _rep_reads(browser, token) == {"data": {"contracts": {"nodes": [{"amount": "1000.00"}]}}}


async def test_a_role_users_hold_is_not_removed_and_one_nobody_holds_is(browser: Browser) -> None:
    await browser.sign_in()
    _, hidden = await browser.form(f"{ROLES}/rep?lang=en")
    held = await browser.client.post(f"{ROLES}/rep/delete", data=hidden)
    assert held.status_code == 409 and REP in held.text and "nothing was changed" in held.text
    assert store(browser).drafts() == {}
    _, hidden = await browser.form(f"{ROLES}/support")
    removed = await browser.client.post(f"{ROLES}/support/delete", data=hidden)
    assert removed.status_code == 303 and store(browser).drafts() == {("role", "support"): None}
    assert (await browser.client.get(f"{ROLES}/support")).status_code == 404
    assert item_version(None) == item_version(store(browser).draft_set().documents("role").get("support"))
