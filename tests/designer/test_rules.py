"""The workflow-rule form and its preview calendar over the renewals app and its sample data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from tests.designer.conftest import ADMIN, PASSWORD, Browser
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio
TENANT = "acme"
RULE = f"/t/{TENANT}/rules/standard_renewal_reminder"


@pytest.fixture
async def renewals(installation: Installation) -> AsyncIterator[Browser]:
    installation.create_tenant(TENANT, "Asia/Shanghai", "zh-CN")
    services = TenantServices(installation)
    services.store(TENANT).publish(load_folder(APP_FOLDER), author="test")
    generate(services.records(TENANT))
    admin = services.users(TENANT).create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
    with installation.database(TENANT).write() as conn:  # the sample data's contracts get an owner to remind
        conn.execute(text("UPDATE obj_contract SET owner_id = :owner"), {"owner": admin.id})
    transport = httpx.ASGITransport(app=create_app(installation, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Browser(installation, client)


def firings(html: str) -> int:
    found = re.search(r'id="preview-count" data-count="(\d+)"', html)
    assert found, html[:3000]
    return int(found.group(1))


async def test_editing_the_offsets_changes_the_preview_and_the_sample_message_is_rendered(
        renewals: Browser) -> None:
    await renewals.sign_in()
    page, hidden = await renewals.form(RULE)
    assert 'value="60,30,7"' in page
    before = firings(page)
    assert before > 0 and 'id="sample"' in page and "合同" in page
    fewer = await renewals.client.post(RULE, data={
        **hidden, "label_en": "Renewal reminder (standard)", "active": "on", "trigger_type": "date",
        "field": "end_date", "offsets": "7", "at": "09:00",
        "condition": "status == '生效' and not auto_renew and account.tier == '普通'"})
    assert fewer.status_code == 303, fewer.text
    after = firings((await renewals.client.get(RULE)).text)
    assert 0 < after < before
    document = MetadataStore(renewals.installation.database(TENANT)).drafts()[("workflow_rule", "standard_renewal_reminder")]
    assert document is not None and document["trigger"]["offset"] == [-7]
    assert document["actions"][0]["subject"] == "合同 {{ -offset }} 天后到期：{{ record.name }}"  # templates kept as they were


async def test_bad_rule_input_is_marked_beside_its_field_and_nothing_is_saved(renewals: Browser) -> None:
    await renewals.sign_in()
    _, hidden = await renewals.form(RULE)
    response = await renewals.client.post(RULE, data={
        **hidden, "trigger_type": "date", "field": "end_date", "offsets": "ninety", "at": "9 o'clock"})
    assert response.status_code == 422
    assert re.search(r'data-field="offsets"', response.text) and re.search(r'data-field="at"', response.text)
    assert 'value="ninety"' in response.text
    unknown = await renewals.client.post(RULE, data={
        **hidden, "trigger_type": "date", "field": "no_such_date", "offsets": "7", "condition": "amount >"})
    assert unknown.status_code == 422 and 'data-field="field"' in unknown.text
    assert MetadataStore(renewals.installation.database(TENANT)).drafts() == {}


async def test_a_new_rule_starts_as_a_draft_and_opens_with_its_preview(renewals: Browser) -> None:
    await renewals.sign_in()
    _, hidden = await renewals.form(f"/t/{TENANT}/new-rule")
    bad = await renewals.client.post(f"/t/{TENANT}/new-rule", data={
        "csrf": hidden["csrf"], "name": "Bad", "object": "", "trigger_type": "date"})
    assert bad.status_code == 422 and 'data-field="name"' in bad.text and 'data-field="object"' in bad.text
    made = await renewals.client.post(f"/t/{TENANT}/new-rule", data={
        "csrf": hidden["csrf"], "name": "end_soon", "object": "contract", "trigger_type": "date",
        "label_zh": "即将到期"})
    assert made.status_code == 303, made.text
    page = await renewals.client.get(made.headers["location"])
    assert page.status_code == 200 and 'value="start_date"' in page.text and firings(page.text) >= 0
    document = MetadataStore(renewals.installation.database(TENANT)).drafts()[("workflow_rule", "end_soon")]
    assert document is not None and document["trigger"]["field"] == "start_date"  # the first date field


async def test_the_sample_message_is_rendered_for_the_chosen_record(renewals: Browser) -> None:
    await renewals.sign_in()
    page, _ = await renewals.form(RULE)
    options = re.findall(r'<option value="([0-9a-f-]{36})"[^>]*>([^<]+)</option>', page)
    assert len(options) >= 2 and all(name != record_id for record_id, name in options)  # names, not ids
    record_id, name = options[1]
    chosen = await renewals.client.get(RULE, params={"record": record_id})
    sample = re.search(r'<div class="card" id="sample">(.*?)</div>', chosen.text, re.DOTALL)
    assert sample is not None and name in sample.group(1)
