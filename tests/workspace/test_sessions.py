"""The session check of every workspace page (one statement: session, active user, roles and
the current release): roles are read afresh on each request, a deactivated user's session
stops working at once, and a user without roles is still a signed-in user."""

from __future__ import annotations

import pytest

from tests.designer.conftest import Browser
from tests.renewals.world import TENANT
from tests.workspace.conftest import PASSWORD, REP, Workspace

pytestmark = pytest.mark.anyio


async def test_roles_and_deactivation_count_from_the_next_request(browser: Browser, workspace: Workspace):
    users = workspace.renewals.services.users(TENANT)
    contract = workspace.contracts["HT-R7"]
    await browser.sign_in(REP, PASSWORD)
    page = await browser.client.get(f"{workspace.app}/contract/{contract}?lang=en")
    assert page.status_code == 200 and 'data-field="amount"' in page.text

    users.assign_role(REP, "limited_rep")  # may not read amounts…
    users.revoke_role(REP, "sales_rep")
    page = await browser.client.get(f"{workspace.app}/contract/{contract}")
    assert page.status_code == 200 and 'data-field="amount"' not in page.text  # …from this request on

    users.revoke_role(REP, "limited_rep")  # no role at all: signed in, but may read no contract
    assert (await browser.client.get(f"{workspace.app}/contract/{contract}")).status_code == 404
    home = await browser.client.get(f"{workspace.app}/")
    assert home.status_code == 200 and REP in home.text

    users.set_active(REP, False)
    gone = await browser.client.get(f"{workspace.app}/")
    assert gone.status_code in (302, 303) and "/login" in gone.headers["location"]
