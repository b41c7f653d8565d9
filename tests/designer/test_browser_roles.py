"""Roles and validation messages in a real browser (Debian's Chromium through Playwright, against
a real `trellis serve`, on SQLite; the set-up of tests/designer/test_browser.py).

An admin creates a role, grants it contracts, publishes and gives it to a user: the user reads
contract amounts over GraphQL. The admin then hides the amount field in the role's grid and
publishes again: the same query now answers null for it. On the Chinese pages a grant that
reaches further than read, and a formula naming a misspelt field, are refused in Chinese beside
the cell or field concerned. The roles' pages are screenshotted in both languages.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.designer.test_browser import (  # noqa: F401 - the module's fixtures
    ADMIN,
    PASSWORD,
    REP,
    SHOTS,
    TENANT,
    Served,
    Visit,
    chromium,
    served,
)
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.slow


def _token(server: Served, email: str) -> str:
    installation = Installation(server.settings)
    try:
        return TenantServices(installation).users(TENANT).create_token(email)[1]
    finally:
        installation.dispose()


def _amounts(server: Served, token: str) -> list[Any]:
    answer = httpx.post(f"{server.url}/t/{TENANT}/graphql", headers={"Authorization": f"Bearer {token}"}, json={
        "query": "{ contracts(first: 3) { nodes { number amount } } }"}, timeout=30).json()
    assert "errors" not in answer, answer
    nodes = answer["data"]["contracts"]["nodes"]
    assert len(nodes) == 3 and all(n["number"] for n in nodes)  # the records are readable
    return [n["amount"] for n in nodes]


def _publish(visit: Visit, message: str) -> None:
    visit.go(f"/t/{TENANT}/publish")
    visit.page.fill("input[name=message]", message)
    with visit.page.expect_navigation():
        visit.page.click("#publish")
    assert "已发布版本" in visit.page.inner_text("main")


def test_a_field_permission_edited_in_the_grid_holds_over_graphql_after_publishing(
        chromium: Any, served: Served) -> None:  # noqa: F811 - pytest's fixtures
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    visit.go(f"/t/{TENANT}/roles")
    visit.fill(name="sales", label_en="Sales", label_zh="销售")
    visit.save()
    assert page.url.endswith(f"/t/{TENANT}/roles/sales?done=saved")
    page.select_option("select[name='read.contract']", "all")
    page.select_option("select[name='read.account']", "all")
    visit.save()
    _publish(visit, "销售角色")
    visit.go(f"/t/{TENANT}/users/{REP}")
    page.check("input[name=role_sales]")
    with page.expect_navigation():
        page.click("form:has(input[name=role_sales]) button[type=submit]")
    token = _token(served, REP)
    assert all(a is not None for a in _amounts(served, token))  # every field may be read

    # hide the amount from the role: a draft changes nothing until it is published
    visit.go(f"/t/{TENANT}/roles/sales")
    page.click("#grant-contract + tr.fields summary")
    page.select_option("select[name='field.contract.amount']", "none")
    visit.page.screenshot(path=str(SHOTS / "role-field-hidden.zh-CN.png"), full_page=True)
    visit.save()
    assert page.locator("select[name='field.contract.amount'] option[selected]").get_attribute("value") == "none"
    assert all(a is not None for a in _amounts(served, token))
    _publish(visit, "隐藏金额")
    assert _amounts(served, token) == [None, None, None]
    visit.go(f"/t/{TENANT}/roles")
    assert REP in page.inner_text("#role-sales")
    visit.shoot("roles")
    visit.go(f"/t/{TENANT}/roles/sales")
    visit.shoot("role")
    visit.go(f"/t/{TENANT}/objects/contract/fields/auto_renew")  # an existing field offers a rename
    assert page.locator("input[name=new_name]").count() == 1
    visit.shoot("field-rename")
    visit.close()


def test_chinese_pages_show_metadata_validation_messages_in_chinese(chromium: Any, served: Served) -> None:  # noqa: F811
    visit = Visit(chromium, served.url)
    page = visit.sign_in(ADMIN, PASSWORD)
    visit.go(f"/t/{TENANT}/roles?lang=zh-CN")
    visit.fill(name="auditor", label_zh="审计")
    visit.save()
    page.select_option("select[name='read.contract']", "own")
    page.select_option("select[name='update.contract']", "all")
    visit.save()
    error = page.inner_text(".field-error[data-field='update.contract']")
    assert error.startswith("编辑范围“全部记录”超出了查看范围“本人记录”"), error
    assert page.locator("select[name='update.contract'] option[selected]").get_attribute("value") == "all"  # kept
    page.screenshot(path=str(SHOTS / "role-error.zh-CN.png"), full_page=True)

    # a formula typed with a misspelt field: checked as it is typed, in the page's language
    for lang, wanted in (("zh-CN", "未知字段 'amout'；是不是要写 'amount'？"),
                         ("en", "unknown field 'amout'; did you mean 'amount'?")):
        visit.go(f"/t/{TENANT}/objects/contract/new-field?lang={lang}")
        page.select_option("select[name=kind]", "formula")
        page.fill("input[name=formula]", "amout * 2")
        page.wait_for_selector("#formula-check .field-error")
        assert page.inner_text("#formula-check .field-error") == wanted
        page.screenshot(path=str(SHOTS / f"field-formula-error.{lang}.png"), full_page=True)
    visit.close()
