"""A CRM tenant served by the app as `trellis serve` builds it (`create_app` from the
installation's settings alone), over HTTP in-process, on both databases; `site(...)` serves it
again with other settings (a lower cost limit, a short statement timeout)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest

from tests.runtime.graphql.conftest import TENANT, crm_set
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app


@dataclass(frozen=True)
class Tokens:
    admin: str
    rep: str


@dataclass
class Site:
    """One served installation: its HTTP client and the tenant's tokens."""

    installation: Installation
    client: httpx.AsyncClient
    tokens: Tokens

    def auth(self, token: str | None = "admin") -> dict[str, str]:
        """The Authorization header of `admin`, `rep` or a literal token; none for None."""
        if token is None:
            return {}
        return {"Authorization": f"Bearer {getattr(self.tokens, token, token)}"}

    async def graphql(self, query: str, variables: dict[str, Any] | None = None,
                      token: str | None = "admin") -> dict[str, Any]:
        """The body of a GraphQL POST that must answer 200."""
        response = await self.client.post(f"/t/{TENANT}/graphql", json={"query": query, "variables": variables},
                                          headers=self.auth(token))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def tokens(installation: Installation) -> Tokens:
    """Tenant `acme` with the CRM objects published, an admin and a rep (no admin rights)."""
    installation.create_tenant(TENANT)
    services = TenantServices(installation)
    services.store(TENANT).publish(crm_set(), author="test")
    users = services.users(TENANT)
    users.create_user("ann@example.com", name="Ann", roles=["admin"])
    users.create_user("rob@example.com", name="Rob", roles=["rep"])
    return Tokens(users.create_token("ann@example.com")[1], users.create_token("rob@example.com")[1])


SiteFactory = Callable[..., AbstractAsyncContextManager[Site]]


@pytest.fixture
def site(settings: Settings, tokens: Tokens) -> SiteFactory:
    """`async with site(graphql_max_cost=...) as served:` the app built from these settings."""

    @asynccontextmanager
    async def serve(**changes: Any) -> AsyncIterator[Site]:
        installation = Installation(replace(settings, **changes))
        app = create_app(installation)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                yield Site(installation, client, tokens)
        finally:
            installation.dispose()

    return serve


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
