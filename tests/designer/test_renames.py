"""Renaming a field in the designer's form, on both databases: the draft says `x-renamed-from`,
the publish plan shows a rename (not a removal and an addition), and the values survive the
publish (read back over GraphQL); a rename that would break another part names it."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
CONTRACT = f"/t/{TENANT}/objects/contract"


def store(browser: Browser) -> MetadataStore:
    return MetadataStore(browser.installation.database(TENANT))


def contract(browser: Browser) -> dict:  # type: ignore[type-arg]
    return dict(store(browser).draft_set().documents("object")["contract"])


async def test_a_renamed_field_keeps_its_values_through_the_publish(browser: Browser, services: TenantServices) -> None:
    account = services.records(TENANT).create(Actor.system(), "account", {"name": "Acme"})
    services.records(TENANT).create(Actor.system(), "contract", {
        "number": "C-1", "account": account["id"], "signed_at": "2026-03-04T05:06:07Z"})
    await browser.sign_in()
    form, _ = await browser.form(f"{CONTRACT}/fields/signed_at?lang=en")
    assert 'name="new_name"' in form and "cannot change" not in form
    renamed = await browser.submit(f"{CONTRACT}/fields/signed_at", {
        "kind": "datetime", "label_en": "Signed", "label_zh": "签署时间", "new_name": "signed_on"},
        page=f"{CONTRACT}/fields/signed_at")
    assert renamed.status_code == 303, renamed.text[:3000]
    properties = contract(browser)["properties"]
    assert "signed_at" not in properties and properties["signed_on"]["x-renamed-from"] == "signed_at"
    assert list(properties).index("signed_on") == list(services.store(TENANT).current().metadata.documents(  # type: ignore[union-attr]
        "object")["contract"]["properties"]).index("signed_at")  # in its place
    shown = await browser.client.get(f"{CONTRACT}/fields/signed_on?lang=en")
    assert 'id="renamed-from"' in shown.text and "signed_at" in shown.text
    plan = (await browser.client.get(f"/t/{TENANT}/publish?lang=en")).text
    assert "&gt; field signed_at renamed to signed_on" in plan or "> field signed_at renamed to signed_on" in plan
    assert not re.search(r"- field signed_at", plan) and "+ field signed_on" not in plan
    assert "rename obj_contract.signed_at to signed_on" in plan and 'name="allow_destructive"' not in plan
    published = await browser.submit(f"/t/{TENANT}/publish", {"message": "rename"})
    assert published.status_code == 303, published.text[:3000]
    history = (await browser.client.get(f"/t/{TENANT}/history?a=1&b=2&lang=en")).text
    assert "&gt; field signed_at renamed to signed_on" in history and "- field signed_at" not in history
    _, token = services.users(TENANT).create_token("ann@example.com")
    answer = await browser.client.post(f"/t/{TENANT}/graphql", headers={"Authorization": f"Bearer {token}"},
                                       json={"query": "{ contracts { nodes { number signedOn } } }"})
    assert answer.json() == {"data": {"contracts": {"nodes": [{"number": "C-1",
                                                                 "signedOn": "2026-03-04T05:06:07Z"}]}}}


async def test_a_rename_that_breaks_a_rule_or_a_role_is_refused_naming_it(browser: Browser) -> None:
    await browser.sign_in()
    before = store(browser).drafts()
    rule = await browser.submit(f"{CONTRACT}/fields/start_date?lang=en", {
        "kind": "date", "label_en": "Start", "new_name": "starts_on"}, page=f"{CONTRACT}/fields/start_date")
    assert rule.status_code == 422 and re.search(r'data-field="new_name">[^<]*start_date', rule.text)
    assert 'value="starts_on"' in rule.text  # kept
    role = await browser.submit(f"{CONTRACT}/fields/amount?lang=en", {
        "kind": "currency", "label_en": "Amount", "new_name": "value"}, page=f"{CONTRACT}/fields/amount")
    assert role.status_code == 422 and re.search(r'data-field="new_name">[^<]*roles/rep.json', role.text)
    for bad in ("Value", "number"):  # not an API name; taken
        refused = await browser.submit(f"{CONTRACT}/fields/amount", {"kind": "currency", "new_name": bad})
        assert refused.status_code == 422 and 'data-field="new_name"' in refused.text
    assert store(browser).drafts() == before


async def test_renaming_a_field_not_published_yet_is_a_plain_change_of_name_and_back_again(browser: Browser) -> None:
    await browser.sign_in()
    added = await browser.submit(f"{CONTRACT}/new-field", {"name": "discont", "kind": "percent", "label_en": "D"})
    assert added.status_code == 303
    fixed = await browser.submit(f"{CONTRACT}/fields/discont", {"kind": "percent", "label_en": "D",
                                                                "new_name": "discount"})
    assert fixed.status_code == 303
    properties = contract(browser)["properties"]
    assert "discont" not in properties and "x-renamed-from" not in properties["discount"]
    # a published field renamed twice keeps its published name; renamed back, no rename is left
    await browser.submit(f"{CONTRACT}/fields/signed_at", {"kind": "datetime", "new_name": "signed"})
    await browser.submit(f"{CONTRACT}/fields/signed", {"kind": "percent", "new_name": "signed_on"})
    assert contract(browser)["properties"]["signed_on"]["x-renamed-from"] == "signed_at"
    await browser.submit(f"{CONTRACT}/fields/signed_on", {"kind": "datetime", "new_name": "signed_at"})
    assert "x-renamed-from" not in contract(browser)["properties"]["signed_at"]
