"""The renewals app in a tenant with two reps, a manager and an admin who all have passwords,
some contracts of each rep ending soon, served by the app over HTTP in-process on both
databases. `Browser` (tests/designer/conftest.py) signs in as a browser does.

`clerk@acme.test` holds `limited_rep`: a rep who may not read contract amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from tests.designer.conftest import anyio_backend, browser  # noqa: F401  (fixtures, over `services` below)
from tests.designer.test_browser import chromium  # noqa: F401  (the fixture, over the browser test's `served`)
from tests.renewals.world import TENANT, Renewals
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.services import TenantServices

PASSWORD = "correct horse battery"
ADMIN, REP, BOSS, CLERK = "admin@acme.test", "rep@acme.test", "boss@acme.test", "clerk@acme.test"
LIMITED_REP = {"x-label": {"en": "Rep without amounts", "zh-CN": "不看金额的销售"},
               "objects": {"contract": {"create": True, "read": "own", "update": "own", "fields": {"amount": "none"}},
                           "account": {"read": "all"}}}


@dataclass
class Workspace:
    renewals: Renewals
    contracts: dict[str, str]  # number → id

    @property
    def app(self) -> str:
        return f"/t/{TENANT}/app"


def _contract(world: Renewals, number: str, owner: str, ends_in: int, account: str) -> str:
    today = date.today()
    return world.records().create(Actor.system(), "contract", {
        "number": number, "name": f"{number} 年度服务", "account": account, "status": "生效",
        "start_date": (today - timedelta(days=300)).isoformat(),
        "end_date": (today + timedelta(days=ends_in)).isoformat(), "amount": "12000.00",
        "owner_id": world.ids[owner]})["id"]


def many_contracts(workspace: Workspace, owner: str, count: int) -> None:
    """`count` more contracts of `owner`, ending over the next year (HT-M001…)."""
    world, today = workspace.renewals, date.today()
    account = world.records().get(Actor.system(), "contract", next(iter(workspace.contracts.values())))["account"]
    world.records().create_many(Actor.system(), "contract", [{
        "number": f"HT-M{i:03}", "name": f"合同 {i}", "account": account, "status": "生效",
        "start_date": (today - timedelta(days=100)).isoformat(), "end_date": (today + timedelta(days=i)).isoformat(),
        "amount": "1000.00", "owner_id": world.ids[owner]} for i in range(1, count + 1)])


@pytest.fixture
def workspace(installation: Installation) -> Workspace:
    world = Renewals.create(installation)
    store = world.services.store(TENANT)
    store.save_draft("role", "limited_rep", LIMITED_REP, author="test")
    store.publish_drafts(author="test", message="a rep who may not read amounts")
    users = world.services.users(TENANT)
    world.ids[CLERK] = users.create_user(CLERK, name="周文员", roles=["limited_rep"], password=PASSWORD).id
    for email in (ADMIN, REP, BOSS):
        users.set_password(email, PASSWORD)
    system = Actor.system()
    account = world.records().create(system, "account", {"name": "华东制造", "owner_id": world.ids[REP]})["id"]
    contracts = {number: _contract(world, number, owner, days, account) for number, owner, days in [
        ("HT-R7", REP, 5), ("HT-R20", REP, 20), ("HT-R60", REP, 60), ("HT-R200", REP, 200),
        ("HT-B10", BOSS, 10), ("HT-C15", CLERK, 15)]}
    return Workspace(world, contracts)


@pytest.fixture
def services(workspace: Workspace) -> TenantServices:
    """The workspace's services, for the designer's `browser` fixture."""
    return workspace.renewals.services
