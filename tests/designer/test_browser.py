"""The designer in a real browser: Debian's Chromium driven by Playwright (its executable, no
browser download) against a real `trellis serve` process on loopback, on SQLite.

An admin signs in, adds a currency field and a picklist with Chinese choices to the contract
object, adds a validation rule, edits the renewal reminder's offsets and sees the preview
change, publishes after seeing the plan, then the new fields answer over GraphQL with a token.
A wrong password is refused, a non-admin cannot open the designer, a form posted without its
CSRF token is refused, GraphiQL starts with no request leaving the machine. Each page is
screenshotted in both languages into build/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bench.graphql import Server
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.metadata.loader import load_folder
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TENANT, ADMIN, REP, PASSWORD = "acme", "ann@example.com", "rob@example.com", "correct horse battery"

pytestmark = pytest.mark.slow


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk; .ci/run does)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@dataclass(frozen=True)
class Served:
    url: str
    settings: Settings


@contextmanager
def serving(tmp_path_factory: pytest.TempPathFactory, label: str,
            prepare: Callable[[Installation], None]) -> Iterator[Served]:
    """A real `trellis serve` over a fresh installation that `prepare` fills. Without a browser
    the test is skipped, or fails under CI (which installs one)."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    settings = Settings(data_dir=tmp_path_factory.mktemp(label) / "data")
    installation = Installation(settings)
    try:
        prepare(installation)
    finally:
        installation.dispose()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with Server(settings) as server:
        yield Served(server.url, settings)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    def prepare(installation: Installation) -> None:
        installation.create_tenant(TENANT, "Asia/Shanghai", "zh-CN")
        services = TenantServices(installation)
        services.store(TENANT).publish(load_folder(APP_FOLDER), author="test")
        generate(services.records(TENANT))
        admin = services.users(TENANT).create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
        services.users(TENANT).create_user(REP, name="Rob", password=PASSWORD)
        with installation.database(TENANT).write() as conn:  # contracts get an owner to remind
            conn.execute(text("UPDATE obj_contract SET owner_id = :owner"), {"owner": admin.id})

    with serving(tmp_path_factory, "browser", prepare) as running:
        yield running


@pytest.fixture(scope="module")
def chromium(served: Served) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser context on the server that records every request it makes."""

    def __init__(self, chromium: Any, url: str):
        self.url = url
        self.context = chromium.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()

    def go(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None
        return response

    def shoot(self, name: str) -> None:
        """This page in both languages."""
        here = self.page.url.split("?")[0]
        for lang in ("en", "zh-CN"):  # ends in Chinese, the tenant's language
            self.page.goto(f"{here}?lang={lang}")
            self.page.screenshot(path=str(SHOTS / f"{name}.{lang}.png"), full_page=True)

    def fill(self, **values: str) -> None:
        for name, value in values.items():
            self.page.fill(f"main [name={name}]", value)

    def save(self) -> None:
        """Submit the page's main form and wait for the next page."""
        with self.page.expect_navigation():
            self.page.click("main form.card button[type=submit]")

    def sign_in(self, email: str, password: str) -> Any:
        self.go(f"/t/{TENANT}/login")
        self.fill(email=email, password=password)
        self.save()
        return self.page

    def external(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.url) or u.startswith(("data:", "blob:")))]

    def close(self) -> None:
        self.context.close()


def test_a_wrong_password_is_refused(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, "not the password")
    assert "/login" in page.url and page.locator("p.error").inner_text() == "邮箱或密码错误。"
    page.screenshot(path=str(SHOTS / "login-refused.zh-CN.png"))
    visit.close()


def test_a_non_admin_cannot_open_the_designer(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    visit.sign_in(REP, PASSWORD)
    response = visit.go(f"/t/{TENANT}/rules")
    assert response.status == 403 and "只有管理员" in visit.page.inner_text("main")
    visit.close()


def test_the_admin_designs_previews_publishes_and_queries_the_new_fields(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    assert page.url.endswith(f"/t/{TENANT}/")
    visit.shoot("objects")
    visit.go(f"/t/{TENANT}/login?lang=zh-CN")  # (signed in: back to the designer)

    # a currency field
    visit.go(f"/t/{TENANT}/objects/contract")
    visit.shoot("object")
    page.click(f"a[href='/t/{TENANT}/objects/contract/new-field']")
    page.select_option("select[name=kind]", "currency")
    visit.fill(name="discount", label_en="Discount", label_zh="折扣金额", default="0")
    visit.page.screenshot(path=str(SHOTS / "field-currency.zh-CN.png"), full_page=True)
    visit.save()
    assert "折扣金额" in page.inner_text("#field-discount")

    # a picklist with Chinese choices; a bad formula is caught as it is typed
    visit.go(f"/t/{TENANT}/objects/contract/new-field")
    assert not page.is_visible("textarea[name=choices]")  # only the chosen kind's settings show
    page.select_option("select[name=kind]", "formula")
    page.fill("input[name=formula]", "amount * nothing_here")
    page.wait_for_selector("#formula-check .field-error")
    page.select_option("select[name=kind]", "picklist")
    assert page.is_visible("textarea[name=choices]") and not page.is_visible("input[name=formula]")
    visit.fill(name="region", label_en="Region", label_zh="区域", choices="华东\n华南\n华北")
    visit.save()
    assert "华东 / 华南 / 华北" in page.inner_text("#field-region")

    # a validation rule
    visit.go(f"/t/{TENANT}/objects/contract/new-rule")
    visit.shoot("rule-new")
    visit.fill(name="discount_within_amount", condition="discount <= amount",
               message_en="The discount cannot exceed the amount", message_zh="折扣不能超过合同金额")
    visit.save()
    assert "折扣不能超过合同金额" in page.inner_text("main")

    # the renewal reminder's offsets, and the preview follows the draft
    visit.go(f"/t/{TENANT}/rules")
    visit.shoot("rules")
    visit.go(f"/t/{TENANT}/rules/standard_renewal_reminder")
    before = int(page.get_attribute("#preview-count", "data-count") or "0")
    assert before > 0 and page.locator("#sample").count() == 1
    visit.shoot("rule-preview")
    visit.fill(offsets="7")
    visit.save()
    after = int(page.get_attribute("#preview-count", "data-count") or "0")
    assert 0 < after < before

    # the plan, then publish
    visit.go(f"/t/{TENANT}/publish?lang=en")
    plan = page.inner_text("main")
    assert "+ field discount" in plan and "+ field region" in plan and "workflow_rule standard_renewal_reminder" in plan
    visit.shoot("publish")
    visit.go(f"/t/{TENANT}/publish")
    page.fill("input[name=message]", "折扣与区域")
    with page.expect_navigation():
        page.click("#publish")
    assert "已发布版本 2" in page.inner_text("main")
    visit.go(f"/t/{TENANT}/history?a=1&b=2")
    visit.shoot("history")
    visit.go(f"/t/{TENANT}/users")
    visit.shoot("users")
    visit.go(f"/t/{TENANT}/channels/email")
    visit.shoot("channel")

    # GraphiQL, served from the package: it starts with nothing fetched from elsewhere
    visit.go(f"/t/{TENANT}/graphql")
    page.wait_for_selector(".graphiql-container .graphiql-editors", timeout=20000)
    page.screenshot(path=str(SHOTS / "graphiql.png"))
    assert visit.external() == []
    visit.close()

    # the new fields over GraphQL, with a token
    installation = Installation(served.settings)
    try:
        _, token = TenantServices(installation).users(TENANT).create_token(ADMIN)
    finally:
        installation.dispose()
    answer = httpx.post(f"{served.url}/t/{TENANT}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": "{ contracts(first: 1) { edges { node { number discount region } } } }"}, timeout=30).json()
    assert "errors" not in answer, answer
    assert set(answer["data"]["contracts"]["edges"][0]["node"]) == {"number", "discount", "region"}


def test_a_form_posted_without_its_csrf_token_is_refused(chromium: Any, served: Served) -> None:
    visit = Visit(chromium, served.url)
    visit.sign_in(ADMIN, PASSWORD)
    response = visit.context.request.post(f"{served.url}/t/{TENANT}/new-object",
                                          form={"name": "forged", "label_en": "Forged"})
    assert response.status == 403
    visit.go(f"/t/{TENANT}/")
    assert "forged" not in visit.page.inner_text("main")
    assert visit.external() == []
    visit.close()

