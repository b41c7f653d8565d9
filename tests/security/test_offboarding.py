"""Finding 8 of the security review: offboarding. Deactivating a leaver (CLI here; the admin API
in tests/runtime/graphql/test_graphql_metadata_api.py) refuses their very next request, and
reactivating them brings no token back."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import Cli, metadata_set, obj
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(settings, capsys)


async def test_a_deactivated_users_token_is_refused_at_the_next_request(installation: Installation, cli: Cli):
    installation.create_tenant("acme")
    services = TenantServices(installation)
    services.store("acme").publish(metadata_set(note=obj({"title": {"type": "string"}})), author="t")
    users = services.users("acme")
    users.create_user("leaver@example.com", roles=["admin"])
    _, token = users.create_token("leaver@example.com")
    app = create_app(installation, services)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        async def me() -> httpx.Response:
            return await client.post("/t/acme/graphql", json={"query": "{ me { email } }"}, headers=headers)

        assert (await me()).status_code == 200
        cli.ok("user", "deactivate", "--tenant", "acme", "leaver@example.com")
        refused = await me()
        assert refused.status_code == 401 and "deactivated" in refused.json()["errors"][0]["message"]
        cli.ok("user", "reactivate", "--tenant", "acme", "leaver@example.com")
        again = await me()
        assert again.status_code == 401 and "revoked" in again.json()["errors"][0]["message"]
