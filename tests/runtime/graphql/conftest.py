"""A served CRM tenant for GraphQL tests: the app in-process, users with tokens, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers import StatementCounter, counting_statements, metadata_set
from tests.runtime.crm import OBJECTS
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

TENANT = "acme"
#: `rep` works with contracts but may not see their amount; `support` sees tickets, not accounts.
ROLES: dict[str, dict[str, Any]] = {
    "rep": {"objects": {
        "contract": {"create": True, "read": "all", "update": "all", "delete": "all", "fields": {"amount": "none"}},
        "account": {"read": "all"},
    }},
    "support": {"objects": {"ticket": {"create": True, "read": "all", "update": "all"}}},
}


def crm_set(**objects: dict[str, Any]) -> MetadataSet:
    """The CRM objects (some replaced or added by `objects`) and the roles."""
    documents = dict(metadata_set(**{**OBJECTS, **objects}).items())
    documents.update({("role", name): doc for name, doc in ROLES.items()})
    return MetadataSet(documents)


@dataclass
class Api:
    """The tenant's GraphQL API over HTTP (in-process), with an admin and a rep token."""

    installation: Installation
    client: httpx.AsyncClient
    schemas: SchemaCache
    admin: str
    rep: str
    admin_id: str
    rep_id: str
    support: str

    @property
    def store(self) -> MetadataStore:
        return MetadataStore(self.installation.database(TENANT))

    async def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = "admin",
                   path: str = "graphql") -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {getattr(self, token, token)}"}
        return await self.client.post(f"/t/{TENANT}/{path}", json={"query": query, "variables": variables},
                                      headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None,
                       token: str | None = "admin") -> dict[str, Any]:
        """The response body; the HTTP status must be 200."""
        response = await self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, query: str, variables: dict[str, Any] | None = None, token: str = "admin") -> dict[str, Any]:
        """The data of a response that must have no errors."""
        body = await self(query, variables, token)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def error(self, query: str, variables: dict[str, Any] | None = None, token: str = "admin") -> dict[str, Any]:
        """The only error of a response that must have one."""
        body = await self(query, variables, token)
        assert len(body.get("errors", ())) == 1, body
        return body["errors"][0]  # type: ignore[no-any-return]


@pytest.fixture
async def api(installation: Installation) -> AsyncIterator[Api]:
    installation.create_tenant(TENANT)
    services = TenantServices(installation)
    services.store(TENANT).publish(crm_set(), author="test")
    users = services.users(TENANT)
    admin = users.create_user("ann@example.com", name="Ann", roles=["admin"])
    rep = users.create_user("rob@example.com", name="Rob", roles=["rep"])
    _, admin_token = users.create_token("ann@example.com")
    _, rep_token = users.create_token("rob@example.com")
    users.create_user("sue@example.com", name="Sue", roles=["support"])
    _, support_token = users.create_token("sue@example.com")
    schemas = SchemaCache()
    app = create_app(installation, services, schemas)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Api(installation, client, schemas, admin_token, rep_token, admin.id, rep.id, support_token)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def count_statements(api: Api) -> Iterator[StatementCounter]:
    with counting_statements(api.installation.database(TENANT).engine) as counter:
        yield counter
