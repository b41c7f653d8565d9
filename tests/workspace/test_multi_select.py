"""Forms of another app's object (the CRM fixture): a multi-select is a set of checkboxes, sent
as a list, kept when the form is refused, and shown back on the record."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import ADMIN, PASSWORD, TENANT, Browser
from tests.runtime.graphql.conftest import crm_set
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio


@pytest.fixture
def services(installation: Installation) -> TenantServices:
    installation.create_tenant(TENANT)
    services = TenantServices(installation)
    services.store(TENANT).publish(crm_set(), author="test")
    services.users(TENANT).create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
    return services


async def test_a_multi_select_is_checkboxes_sent_as_a_list(browser: Browser):
    await browser.sign_in(ADMIN, PASSWORD)
    form = await browser.client.get(f"/t/{TENANT}/app/account/new?lang=en")
    assert form.status_code == 200 and '<fieldset class="choices">' in form.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    tier = re.search(r'<select name="tier"><option value="">[^<]*</option><option value="([^"]+)"', form.text)
    assert tier is not None
    refused = await browser.client.post(f"/t/{TENANT}/app/account/new", data={
        "csrf": csrf, "name": "", "tier": tier.group(1), "tags": ["vip", "risk"]})
    assert refused.status_code == 400
    ticked = re.findall(r'<input type="checkbox" name="tags" value="([^"]+)" checked>', refused.text)
    assert ticked == ["vip", "risk"], re.findall(r"name=.tags.[^>]*>", refused.text)
    created = await browser.client.post(f"/t/{TENANT}/app/account/new", data={
        "csrf": csrf, "name": "多区域客户", "tier": tier.group(1), "tags": ["vip", "risk"]})
    assert created.status_code == 303, re.findall(r"field-error[^<]*<", created.text)
    record = await browser.client.get(created.headers["location"])
    assert re.search(r'<dd data-field="tags">\s*vip, risk\s*</dd>', record.text)
