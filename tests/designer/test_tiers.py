"""The tiers page over the renewals app on both databases: each tier's reminder rules read back
from the rules' conditions, and a rule's days saved as its draft from there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from tests.designer.conftest import Browser
from tests.designer.helpers import signed_in_admin
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.designer.tier_pages import tiers_of
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

PAGE = "/t/acme/tiers"
TIERS = ("战略", "重要", "普通")


@pytest.fixture
async def renewals(installation: Installation) -> AsyncIterator[Browser]:
    installation.create_tenant("acme", "Asia/Shanghai", "zh-CN")
    services = TenantServices(installation)
    services.store("acme").publish(load_folder(APP_FOLDER), author="test")
    async with signed_in_admin(installation, "acme") as browser:
        yield browser


def sections(html: str) -> dict[str, dict[str, str]]:
    """Per tier heading: {rule: its days} as the page shows them."""
    out: dict[str, dict[str, str]] = {}
    for heading, body in re.findall(r'<h2 id="[^"]+"[^>]*>([^<]+)</h2>\s*<table class="tier-rules">(.*?)</table>', html,
                                    re.DOTALL):
        rows = re.findall(r'<tr data-rule="([^"]+)">.*?name="offsets" value="([^"]*)"', body, re.DOTALL)
        out[heading.strip()] = dict(rows)
    return out


@pytest.mark.parametrize(("condition", "allowed"), [
    ("status == '生效' and account.tier == '重要'", {"重要"}),
    ("account.tier != '普通'", {"战略", "重要"}),
    ("account.tier in ['战略', '重要'] or amount > 5", set(TIERS)),  # the amount lets any tier through
    ("account.tier in ['战略', '重要'] and not auto_renew", {"战略", "重要"}),
    ("not (account.tier == '普通')", {"战略", "重要"}),
    ("'战略' == account.tier", {"战略"}),
    ("account.tier == region", set(TIERS)),  # not a constant: cannot tell
    ("tier == '普通'", set(TIERS)),  # not how a contract names it
    ("status ==", set(TIERS)),  # unreadable
    (None, set(TIERS)),
])
def test_which_tiers_a_condition_lets_through(condition: str | None, allowed: set[str]) -> None:
    assert tiers_of(condition, ["account.tier"], TIERS) == allowed


@pytest.mark.anyio
async def test_each_tier_shows_its_reminders_with_days_and_channels(renewals: Browser) -> None:
    page = await renewals.client.get(PAGE)
    assert page.status_code == 200
    found = sections(page.text)
    assert found == {  # every dated rule that reaches someone, on contracts or on what looks up an account
        "分层：战略": {"strategic_renewal_reminder": "120,90,60,30,7", "strategic_account_alert": "90,30,7"},
        "分层：重要": {"key_renewal_reminder": "90,60,30,7"},
        "分层：普通": {"standard_renewal_reminder": "60,30,7"},
        "所有分层": {"renewal_reminder": "0", "open_renewal_opportunity": "90", "churn_warning_p1": "-7"},
    }
    strategic = re.search(r'<tr data-rule="strategic_renewal_reminder">(.*?)</tr>', page.text, re.DOTALL)
    assert strategic and "in_app, email, 任务" in strategic.group(1) and "09:00" in strategic.group(1)
    assert 'href="/t/acme/rules/strategic_renewal_reminder"' in strategic.group(1)


@pytest.mark.anyio
async def test_a_tiers_days_are_saved_as_the_rules_draft(renewals: Browser) -> None:
    page = await renewals.client.get(PAGE)
    form = re.search(r'<tr data-rule="key_renewal_reminder">.*?</form>', page.text, re.DOTALL)
    assert form
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))
    bad = await renewals.client.post(PAGE, data={**hidden, "offsets": "90, soon"})
    assert bad.status_code == 422 and 'value="90, soon"' in bad.text
    assert re.search(r'data-field="offsets_key_renewal_reminder">请输入以逗号分隔的整数天数。', bad.text)
    store = MetadataStore(renewals.installation.database("acme"))
    assert store.drafts() == {}
    saved = await renewals.client.post(PAGE, data={**hidden, "offsets": "45，14 3"})
    assert saved.status_code == 303
    before = store.current()
    assert before is not None
    document = store.drafts()[("workflow_rule", "key_renewal_reminder")]
    assert document is not None and document["trigger"]["offset"] == [-45, -14, -3]
    published = before.metadata[("workflow_rule", "key_renewal_reminder")]
    assert {k: v for k, v in document.items() if k != "trigger"} == {k: v for k, v in published.items() if k != "trigger"}
    assert sections((await renewals.client.get(PAGE)).text)["分层：重要"] == {"key_renewal_reminder": "45,14,3"}
    stale = await renewals.client.post(PAGE, data={**hidden, "offsets": "30"})
    assert stale.status_code == 409 and "其他人修改了它" in stale.text
    assert store.drafts()[("workflow_rule", "key_renewal_reminder")] == document
