"""Objects, fields and validation rules edited as drafts through the pages, on both databases."""

from __future__ import annotations

import pytest

from tests.designer.conftest import Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.releases import MetadataStore

pytestmark = pytest.mark.anyio
CONTRACT = f"/t/{TENANT}/objects/contract"


def drafted(browser: Browser, kind: str = "object", name: str = "contract") -> dict | None:  # type: ignore[type-arg]
    return MetadataStore(browser.installation.database(TENANT)).drafts().get((kind, name))  # type: ignore[return-value]


async def test_a_currency_field_and_a_chinese_picklist_become_drafts_not_releases(browser: Browser) -> None:
    await browser.sign_in()
    response = await browser.submit(f"{CONTRACT}/new-field", {
        "name": "discount", "kind": "currency", "label_en": "Discount", "label_zh": "折扣金额", "default": "0",
        "index": "on"})
    assert response.status_code == 303, response.text
    response = await browser.submit(f"{CONTRACT}/new-field", {
        "name": "region", "kind": "picklist", "label_en": "Region", "label_zh": "区域",
        "choices": "华东\n华南\n华北", "default": "华东", "required": "on"})
    assert response.status_code == 303, response.text
    document = drafted(browser)
    assert document is not None
    assert document["properties"]["discount"] == {"type": "number", "x-kind": "currency", "default": 0,
                                                  "x-index": True, "x-label": {"en": "Discount", "zh-CN": "折扣金额"}}
    assert document["properties"]["region"]["enum"] == ["华东", "华南", "华北"] and "region" in document["required"]
    assert MetadataStore(browser.installation.database(TENANT)).current_number() == 1  # nothing published
    page = await browser.client.get(CONTRACT)
    assert "折扣金额" in page.text and "华东 / 华南 / 华北" in page.text


@pytest.mark.parametrize("kind, extra, stored", [
    ("text", {}, {"type": "string"}),
    ("number", {"default": "1.5"}, {"type": "number", "default": 1.5}),
    ("integer", {}, {"type": "integer"}),
    ("percent", {}, {"type": "number", "x-kind": "percent"}),
    ("date", {}, {"type": "string", "format": "date"}),
    ("datetime", {}, {"type": "string", "format": "date-time"}),
    ("boolean", {"default": "true"}, {"type": "boolean", "default": True}),
    ("multiselect", {"choices": "甲\n乙"}, {"type": "array", "items": {"type": "string", "enum": ["甲", "乙"]},
                                           "uniqueItems": True}),
    ("lookup", {"ref": "account"}, {"type": "string", "x-ref": "account"}),
    ("formula", {"formula": "amount * 2", "result": "currency"},
     {"type": "number", "x-kind": "currency", "readOnly": True, "x-formula": "amount * 2"}),
    ("rollup", {"rollup_object": "ticket", "rollup_via": "account", "rollup_function": "count"}, None),
])
async def test_every_field_kind_is_stored_as_the_metadata_language_says(
        browser: Browser, kind: str, extra: dict[str, str], stored: dict | None) -> None:  # type: ignore[type-arg]
    target = "account" if kind == "rollup" else "contract"
    await browser.sign_in()
    response = await browser.submit(f"/t/{TENANT}/objects/{target}/new-field",
                                    {"name": f"new_{kind}", "kind": kind, "label_en": kind, **extra})
    assert response.status_code == 303, response.text
    document = drafted(browser, name=target)
    assert document is not None
    schema = {k: v for k, v in document["properties"][f"new_{kind}"].items() if k != "x-label"}
    if stored is not None:
        assert schema == stored
    else:
        assert schema["x-rollup"] == {"object": "ticket", "via": "account", "function": "count"}
    # and it opens again in the form with the same kind
    page = await browser.client.get(f"/t/{TENANT}/objects/{target}/fields/new_{kind}")
    assert f'<option value="{kind}" selected>' in page.text


async def test_a_bad_formula_is_shown_beside_its_field_and_the_form_keeps_what_was_typed(browser: Browser) -> None:
    await browser.sign_in()
    response = await browser.submit(f"{CONTRACT}/new-field", {
        "name": "twice", "kind": "formula", "label_zh": "两倍", "formula": "amount * no_such_field"})
    assert response.status_code == 422
    assert 'data-field="formula"' in response.text and "no_such_field" in response.text
    assert 'value="twice"' in response.text and 'value="两倍"' in response.text
    assert drafted(browser) is None
    # as the admin types, htmx asks for the same verdict
    _, hidden = await browser.form(f"{CONTRACT}/new-field")
    check = await browser.client.post(f"{CONTRACT}/check-formula", data={"formula": "amount *"},
                                      headers={"X-CSRF-Token": hidden["csrf"]})
    assert check.status_code == 200 and 'data-field="formula"' in check.text
    ok = await browser.client.post(f"{CONTRACT}/check-formula", data={"formula": "amount * 2"},
                                   headers={"X-CSRF-Token": hidden["csrf"]})
    assert "field-error" not in ok.text


async def test_form_errors_name_their_field_in_the_pages_language(browser: Browser) -> None:
    await browser.sign_in()
    response = await browser.submit(f"{CONTRACT}/new-field?lang=en", {
        "name": "Bad Name", "kind": "number", "default": "abc"})
    assert response.status_code == 422
    assert "Use lowercase letters" in response.text and 'data-field="name"' in response.text
    chinese = await browser.submit(f"{CONTRACT}/new-field?lang=zh-CN", {"name": "", "kind": "picklist"})
    assert "请填写。" in chinese.text and 'data-field="choices"' in chinese.text


async def test_a_change_by_another_admin_meanwhile_is_detected_and_not_overwritten(browser: Browser) -> None:
    await browser.sign_in()
    _, stale = await browser.form(f"{CONTRACT}/new-field")
    first = await browser.submit(f"{CONTRACT}/new-field", {"name": "first", "kind": "text", "label_en": "First"})
    assert first.status_code == 303
    second = await browser.client.post(f"{CONTRACT}/new-field", data={
        **stale, "name": "second", "kind": "text", "label_en": "Second"})
    assert second.status_code == 409 and 'value="second"' in second.text
    document = drafted(browser)
    assert document is not None and "first" in document["properties"] and "second" not in document["properties"]


async def test_a_new_object_and_a_validation_rule(browser: Browser) -> None:
    await browser.sign_in()
    created = await browser.submit(f"/t/{TENANT}/new-object", {
        "name": "visit", "label_en": "Visit", "label_zh": "拜访"})
    assert created.status_code == 303 and created.headers["location"].startswith(f"/t/{TENANT}/objects/visit")
    again = await browser.submit(f"/t/{TENANT}/new-object", {"name": "visit", "label_en": "Visit"},
                                 page=f"/t/{TENANT}/new-object")
    assert again.status_code == 422 and "visit" in again.text
    bad = await browser.submit(f"{CONTRACT}/new-rule", {
        "name": "positive", "condition": "amount >", "message_en": "Must be positive"})
    assert bad.status_code == 422 and 'data-field="condition"' in bad.text
    rule = await browser.submit(f"{CONTRACT}/new-rule", {
        "name": "positive", "condition": "amount >= 0", "message_en": "Must be positive", "message_zh": "必须为正"})
    assert rule.status_code == 303, rule.text
    document = drafted(browser)
    assert document is not None
    assert document["x-rules"][-1] == {"name": "positive", "condition": "amount >= 0",
                                       "message": {"en": "Must be positive", "zh-CN": "必须为正"}}


async def test_removing_a_rule_or_a_field_is_a_draft_and_a_stale_page_cannot_remove(browser: Browser) -> None:
    await browser.sign_in()
    _, stale = await browser.form(CONTRACT)
    removed = await browser.client.post(f"{CONTRACT}/rules/end_after_start/delete", data=stale)
    assert removed.status_code == 303
    document = drafted(browser)
    assert document is not None and "x-rules" not in document
    again = await browser.client.post(f"{CONTRACT}/fields/number/delete", data=stale)  # opened before the change
    assert again.status_code == 409
    document = drafted(browser)
    assert document is not None and "number" in document["properties"]
