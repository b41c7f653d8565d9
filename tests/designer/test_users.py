"""Users, roles and tokens through the designer's pages, on both databases."""

from __future__ import annotations

import re

import pytest

from tests.designer.conftest import ADMIN, PASSWORD, REP, Browser
from tests.runtime.graphql.conftest import TENANT
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio
USERS = f"/t/{TENANT}/users"


async def test_an_admin_creates_a_user_who_can_then_sign_in_and_bad_input_names_its_field(browser: Browser) -> None:
    await browser.sign_in()
    page, hidden = await browser.form(f"{USERS}?lang=en")
    assert ADMIN in page and REP in page and "What each role grants" in page
    short = await browser.client.post(USERS, data={"csrf": hidden["csrf"], "email": "cai@example.com",
                                                   "name": "蔡", "password": "short", "role_rep": "on"})
    assert short.status_code == 422 and 'data-field="password"' in short.text and 'value="cai@example.com"' in short.text
    taken = await browser.client.post(USERS, data={"csrf": hidden["csrf"], "email": REP, "password": PASSWORD})
    assert taken.status_code == 422 and 'data-field="email"' in taken.text
    made = await browser.client.post(USERS, data={"csrf": hidden["csrf"], "email": "cai@example.com", "name": "蔡",
                                                  "password": PASSWORD, "role_rep": "on"})
    assert made.status_code == 303
    user = TenantServices(browser.installation).users(TENANT).get_user("cai@example.com")
    assert user.roles == ("rep",) and user.has_password


async def test_roles_tokens_shown_once_and_revoked_and_no_admin_locks_themselves_out(browser: Browser) -> None:
    await browser.sign_in()
    path = f"{USERS}/{REP}"
    _, hidden = await browser.form(path)
    csrf = hidden["csrf"]
    promoted = await browser.client.post(path, data={"csrf": csrf, "action": "roles", "role_rep": "on",
                                                     "role_admin": "on"})
    assert promoted.status_code == 303
    users = TenantServices(browser.installation).users(TENANT)
    assert set(users.get_user(REP).roles) == {"admin", "rep"}
    made = await browser.client.post(path, data={"csrf": csrf, "action": "token", "name": "ci", "expires_days": "7"})
    secret = re.search(r'id="new-token">.*?<pre class="diff">([^<]+)</pre>', made.text, re.DOTALL)
    assert made.status_code == 200 and secret is not None
    assert users.actor_for_token(secret.group(1)).email == REP
    again = await browser.client.get(path)
    assert secret.group(1) not in again.text  # shown once
    [token] = users.list_tokens(REP)
    revoked = await browser.client.post(path, data={"csrf": csrf, "action": "revoke", "token": token.id})
    assert revoked.status_code == 303 and users.list_tokens(REP)[0].revoked_at is not None
    own = await browser.client.post(f"{USERS}/{ADMIN}", data={"csrf": csrf, "action": "roles"})
    assert own.status_code == 422 and "admin" in users.get_user(ADMIN).roles
    off = await browser.client.post(f"{USERS}/{ADMIN}", data={"csrf": csrf, "action": "active"})
    assert off.status_code == 422 and users.get_user(ADMIN).active


async def test_a_deactivated_user_loses_the_session_at_once(browser: Browser) -> None:
    users = TenantServices(browser.installation).users(TENANT)
    users.assign_role(REP, "admin")
    assert (await browser.sign_in(email=REP)).status_code == 303
    assert (await browser.client.get(f"/t/{TENANT}/")).status_code == 200
    users.set_active(REP, False)
    assert (await browser.client.get(f"/t/{TENANT}/")).status_code == 303
