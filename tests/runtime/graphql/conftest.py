"""A served CRM tenant for GraphQL tests: the app in-process, users with tokens, on both databases.

The app answers read queries through the compiled read path where it can; every read query a
test sends is also sent to the same installation served without it (graphql-core only), and
both answers must be the same JSON, key order and errors included (the differential test of
issue 17 over every read query of the suite). Tests that count statements turn that off.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse

from tests.helpers import StatementCounter, counting_statements, metadata_set
from tests.runtime.crm import OBJECTS
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.graphql.compiled import CompiledReads
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
    plain: httpx.AsyncClient | None = None  # the same installation, every request through graphql-core
    reads: CompiledReads | None = None  # the compiled path of `client` (its stats)
    compare: bool = True  # send each read query to `plain` too and require the same answer
    compared: int = 0

    @property
    def store(self) -> MetadataStore:
        return MetadataStore(self.installation.database(TENANT))

    async def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = "admin",
                   path: str = "graphql") -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {getattr(self, token, token)}"}
        body = {"query": query, "variables": variables}
        response = await self.client.post(f"/t/{TENANT}/{path}", json=body, headers=headers)
        if self.compare and self.plain is not None and path == "graphql" and is_read(query):
            other = await self.plain.post(f"/t/{TENANT}/{path}", json=body, headers=headers)
            assert_same(response, other, query)
            self.compared += 1
        return response

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


def is_read(query: str) -> bool:
    """Whether a document has no mutation (reads may be sent twice: they change nothing)."""
    try:
        document = parse(query)
    except GraphQLError:
        return True
    return not any(isinstance(d, OperationDefinitionNode) and d.operation is not OperationType.QUERY
                   for d in document.definitions)


def assert_same(compiled: httpx.Response, plain: httpx.Response, query: str) -> None:
    """The same status and the same JSON, key order included."""
    assert compiled.status_code == plain.status_code, query
    assert compiled.headers.get("content-type") == plain.headers.get("content-type"), query
    ours, theirs = (json.dumps(r.json(), ensure_ascii=False) for r in (compiled, plain))
    assert ours == theirs, f"{query}\ncompiled: {ours}\ngraphql-core: {theirs}"


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
    reads = CompiledReads()
    app = create_app(installation, services, schemas, compiled_reads=reads)
    plain_app = create_app(installation, services, schemas, compiled_reads=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=plain_app), base_url="http://test") as plain:
        yield Api(installation, client, schemas, admin_token, rep_token, admin.id, rep.id, support_token,
                  plain=plain, reads=reads)
    assert not reads.stats["fallback: error"], "the compiled path failed (its log has the traceback)"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def count_statements(api: Api) -> Iterator[StatementCounter]:
    api.compare = False  # the statements of one answer
    with counting_statements(api.installation.database(TENANT).engine) as counter:
        yield counter
