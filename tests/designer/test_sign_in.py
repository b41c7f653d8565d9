"""Sign-in, sessions, CSRF, throttling and the admin-only rule, over HTTP on both databases."""

from __future__ import annotations

import pytest

from tests.designer.conftest import ADMIN, PASSWORD, REP, Browser, csrf_of
from tests.runtime.graphql.conftest import TENANT
from trellis.designer.sessions import MAX_FAILURES, Throttle
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio


async def test_an_anonymous_visitor_is_sent_to_sign_in_and_learns_nothing(browser: Browser) -> None:
    response = await browser.client.get(f"/t/{TENANT}/")
    assert response.status_code == 303 and response.headers["location"].startswith(f"/t/{TENANT}/login?next=")
    for path in (f"/t/{TENANT}/login", "/t/nobody/login"):  # a tenant that does not exist: the same form
        page = await browser.client.get(path)
        assert page.status_code == 200 and "contract" not in page.text
    landing = await browser.client.get("/")
    assert landing.status_code == 200 and TENANT not in landing.text


async def test_signing_in_sets_a_signed_http_only_lax_cookie_and_signing_out_ends_the_session(
        browser: Browser) -> None:
    response = await browser.sign_in()
    assert response.status_code == 303 and response.headers["location"] == f"/t/{TENANT}/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("trellis_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie and f"Path=/t/{TENANT}/" in cookie
    home = await browser.client.get(f"/t/{TENANT}/")
    assert home.status_code == 200 and "contract" in home.text and ADMIN in home.text
    stolen = browser.client.cookies.get("trellis_session")
    out = await browser.client.post(f"/t/{TENANT}/logout", data={"csrf": csrf_of(home.text)})
    assert out.status_code == 303
    # the old cookie is worthless now: the session ended on the server
    browser.client.cookies.set("trellis_session", stolen, path=f"/t/{TENANT}/")
    again = await browser.client.get(f"/t/{TENANT}/")
    assert again.status_code == 303


async def test_a_forged_session_cookie_is_ignored(browser: Browser) -> None:
    browser.client.cookies.set("trellis_session", "made-up.signature", path=f"/t/{TENANT}/")
    assert (await browser.client.get(f"/t/{TENANT}/")).status_code == 303


async def test_a_wrong_password_is_refused_and_keeps_the_email(browser: Browser) -> None:
    response = await browser.sign_in(password="wrong password!")
    assert response.status_code == 401 and "邮箱或密码错误" in response.text  # the tenant's locale: zh-CN
    assert f'value="{ADMIN}"' in response.text and "trellis_session" not in response.headers.get("set-cookie", "")
    unknown = await browser.sign_in(email="nobody@example.com")
    assert unknown.status_code == 401


async def test_repeated_failures_lock_the_email_from_that_address_even_with_the_right_password(
        browser: Browser) -> None:
    for attempt in range(MAX_FAILURES):
        response = await browser.sign_in(password=f"wrong {attempt}")
    assert response.status_code == 429
    locked = await browser.sign_in()
    assert locked.status_code == 429 and "trellis_session" not in locked.headers.get("set-cookie", "")
    # other users are not locked out by it
    assert (await browser.sign_in(email=REP)).status_code == 303


async def test_the_throttle_is_kept_in_the_database_so_a_new_app_sees_it(browser: Browser) -> None:
    for attempt in range(MAX_FAILURES):
        await browser.sign_in(password=f"wrong {attempt}")
    fresh = Throttle(browser.installation.database(TENANT))
    assert fresh.locked_until(ADMIN, "198.51.100.7") is not None
    assert fresh.locked_until(ADMIN, "203.0.113.9") is None


async def test_a_non_admin_gets_a_clear_refusal(browser: Browser) -> None:
    assert (await browser.sign_in(email=REP)).status_code == 303
    home = await browser.client.get(f"/t/{TENANT}/")  # the designer's home sends them to the workspace
    assert home.status_code == 303 and home.headers["location"] == f"/t/{TENANT}/app/"
    page = await browser.client.get(f"/t/{TENANT}/rules")
    assert page.status_code == 403 and ("admin" in page.text) and "contract" not in page.text


async def test_posts_without_the_csrf_token_are_refused(browser: Browser) -> None:
    page = await browser.client.get(f"/t/{TENANT}/login")
    assert (await browser.client.post(f"/t/{TENANT}/login", data={"email": ADMIN, "password": PASSWORD})
            ).status_code == 403
    assert (await browser.client.post(f"/t/{TENANT}/login", data={
        "email": ADMIN, "password": PASSWORD, "csrf": "forged"})).status_code == 403
    assert (await browser.client.post(f"/t/{TENANT}/login", data={
        "email": ADMIN, "password": PASSWORD, "csrf": csrf_of(page.text)})).status_code == 303
    # signed in now: a form without the token is still refused, and nothing is drafted
    refused = await browser.client.post(f"/t/{TENANT}/new-object", data={"name": "ticket2", "label_en": "T"})
    assert refused.status_code == 403
    assert TenantServices(browser.installation).store(TENANT).drafts() == {}
    home = await browser.client.get(f"/t/{TENANT}/")
    # htmx sends it as a header
    hx = await browser.client.post(f"/t/{TENANT}/objects/contract/check-formula",
                                   data={"formula": "amount * 2"}, headers={"X-CSRF-Token": csrf_of(home.text)})
    assert hx.status_code == 200


def test_the_demo_prints_a_password_that_signs_in_to_the_designer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io
    import stat

    from trellis.cli.server import DEMO_ADMIN, DEMO_PASSWORD_FILE, DEMO_TENANT, demo_password, prepare_demo
    from trellis.platform.settings import Settings
    from trellis.platform.tenancy import Installation

    installation = Installation(Settings(data_dir=tmp_path / "data"))
    try:
        prepare_demo(installation, io.StringIO())
        users = TenantServices(installation).users(DEMO_TENANT)
        path = installation.settings.data_dir / DEMO_PASSWORD_FILE
        password = demo_password(users, path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and demo_password(users, path) == password
        actor = users.authenticate(DEMO_ADMIN, password)
        assert actor is not None and actor.policy.is_admin
    finally:
        installation.dispose()
