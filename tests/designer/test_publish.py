"""Publishing the drafts with the plan, refusing destructive steps without the tick, a failed
publish keeping the drafts, history, diff and rollback, on both databases."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
PUBLISH = f"/t/{TENANT}/publish"


def store(browser: Browser) -> MetadataStore:
    return MetadataStore(browser.installation.database(TENANT))


async def test_the_plan_is_shown_then_published_and_history_compares_and_rolls_back(browser: Browser) -> None:
    await browser.sign_in()
    await browser.submit(f"/t/{TENANT}/objects/contract/new-field", {
        "name": "discount", "kind": "currency", "label_zh": "折扣"})
    page, _ = await browser.form(f"{PUBLISH}?lang=en")
    assert "~ object contract" in page and "+ field discount" in page and "add column" in page.lower()
    assert re.search(r"\+ +&#34;x-kind&#34;: &#34;currency&#34;", page)  # the item's diff, escaped
    assert "allow_destructive" not in page  # nothing destructive: no tick asked for
    done = await browser.submit(PUBLISH, {"message": "discount field"})
    assert done.status_code == 303 and done.headers["location"].endswith("published=2")
    assert store(browser).current_number() == 2 and store(browser).drafts() == {}
    history = await browser.client.get(f"/t/{TENANT}/history?a=1&b=2&lang=en")
    assert "discount field" in history.text and "+ field discount" in history.text
    _, hidden = await browser.form(f"/t/{TENANT}/history")
    refused = await browser.client.post(f"/t/{TENANT}/history/1/rollback", data={"csrf": hidden["csrf"]})
    assert refused.status_code == 422 and store(browser).current_number() == 2  # dropping a column: destructive
    rolled = await browser.client.post(f"/t/{TENANT}/history/1/rollback", data={
        "csrf": hidden["csrf"], "allow_destructive": "on"})
    assert rolled.status_code == 303 and store(browser).current_number() == 3
    assert "discount" not in store(browser).current().metadata.documents("object")["contract"]["properties"]  # type: ignore[union-attr]


async def test_a_destructive_change_is_marked_and_refused_without_the_tick(browser: Browser) -> None:
    await browser.sign_in()
    _, hidden = await browser.form(f"/t/{TENANT}/objects/contract")
    removed = await browser.client.post(f"/t/{TENANT}/objects/contract/fields/number/delete", data=hidden)
    assert removed.status_code == 303
    page, _ = await browser.form(PUBLISH)
    assert re.search(r'class="destructive">! \[[^\]]+\]', page) and 'name="allow_destructive"' in page
    refused = await browser.submit(PUBLISH, {"message": "drop number"})
    assert refused.status_code == 422 and store(browser).current_number() == 1
    assert store(browser).drafts() != {}
    published = await browser.submit(PUBLISH, {"message": "drop number", "allow_destructive": "on"})
    assert published.status_code == 303 and store(browser).current_number() == 2


async def test_drafts_changed_after_the_plan_was_shown_are_not_published_unseen(browser: Browser) -> None:
    await browser.sign_in()
    await browser.submit(f"/t/{TENANT}/objects/contract/new-field", {"name": "a1", "kind": "text", "label_en": "A"})
    _, seen = await browser.form(PUBLISH)
    await browser.submit(f"/t/{TENANT}/objects/contract/new-field", {"name": "a2", "kind": "text", "label_en": "B"})
    stale = await browser.client.post(PUBLISH, data={**seen, "message": "x"})
    assert stale.status_code == 409 and store(browser).current_number() == 1


async def test_a_failed_publish_leaves_the_drafts_as_they_were(browser: Browser, services: TenantServices) -> None:
    records = services.records(TENANT)
    for _ in range(2):
        records.create(Actor.system(), "account", {"name": "同名客户"})
    await browser.sign_in()
    _, hidden = await browser.form(f"/t/{TENANT}/objects/account/fields/name")
    response = await browser.client.post(f"/t/{TENANT}/objects/account/fields/name", data={
        **hidden, "kind": "text", "label_en": "Name", "required": "on", "unique": "on"})
    assert response.status_code == 303, response.text
    before = store(browser).drafts()
    failed = await browser.submit(PUBLISH, {"message": "unique names"})
    assert failed.status_code == 500 and ("Publishing failed" in failed.text or "发布失败" in failed.text)
    assert store(browser).drafts() == before and store(browser).current_number() == 1
    # the discard button clears them
    _, hidden = await browser.form(PUBLISH)
    discarded = await browser.client.post(f"/t/{TENANT}/drafts/discard", data={"csrf": hidden["csrf"]})
    assert discarded.status_code == 303 and store(browser).drafts() == {}
