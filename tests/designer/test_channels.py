"""The channels page: settings from a form, secrets masked and kept, a test message sent
through the real adapter to an SMTP server on loopback."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import Browser
from tests.runtime.channels.receivers import smtp_server
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.channels.base import MASK
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
EMAIL = f"/t/{TENANT}/channels/email"


async def test_email_settings_with_a_masked_password_and_a_test_message(browser: Browser) -> None:
    await browser.sign_in()
    _, hidden = await browser.form(EMAIL)
    csrf = hidden["csrf"]
    with smtp_server(auth=True) as (receiver, port):
        bad = await browser.client.post(EMAIL, data={"csrf": csrf, "action": "save", "setting_host": "127.0.0.1",
                                                     "setting_port": "not a port", "setting_security": "none"})
        assert bad.status_code == 422 and 'data-field="port"' in bad.text and 'value="127.0.0.1"' in bad.text
        missing = await browser.client.post(EMAIL, data={"csrf": csrf, "action": "save", "setting_host": "127.0.0.1",
                                                         "setting_port": str(port), "setting_security": "none"})
        assert missing.status_code == 422 and "from_address" in missing.text
        saved = await browser.client.post(EMAIL, data={
            "csrf": csrf, "action": "save", "setting_host": "127.0.0.1", "setting_port": str(port),
            "setting_security": "none", "setting_from_address": "noreply@example.com",
            "setting_username": "bot", "setting_password": "right horse battery"})
        assert saved.status_code == 303
        page = await browser.client.get(EMAIL)
        assert "right horse battery" not in page.text and MASK in page.text
        # saving again with the mask keeps the stored password
        again = await browser.client.post(EMAIL, data={
            "csrf": csrf, "action": "save", "setting_host": "127.0.0.1", "setting_port": str(port),
            "setting_security": "none", "setting_from_address": "noreply@example.com",
            "setting_username": "bot", "setting_password": MASK, "setting_from_name": "续约提醒"})
        assert again.status_code == 303
        stored = TenantServices(browser.installation).channels(TENANT)
        assert stored.channel("email").config["password"] == "right horse battery"  # type: ignore[attr-defined]
        sent = await browser.client.post(EMAIL, data={"csrf": csrf, "action": "test", "recipient": "ann@example.com"})
        assert sent.status_code == 200 and "ann@example.com" in sent.text, re.findall(r"<p class=.error.*?</p>", sent.text)
        assert [m["To"] for m in receiver.messages()] == ["ann@example.com"]
    refused = await browser.client.post(EMAIL, data={"csrf": csrf, "action": "test", "recipient": "ann@example.com"})
    assert refused.status_code == 422  # the server is gone: the reason is shown, nothing pretends it went
