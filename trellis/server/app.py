"""The ASGI application: a composition root that mounts the designer pages, the GraphQL APIs
(`/t/<tenant>/graphql`, `/t/<tenant>/metadata/graphql`) and the health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from trellis import designer
from trellis.platform.tenancy import Installation
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.services import TenantServices
from trellis.server.graphql_app import GraphQLEndpoints


def create_app(installation: Installation, services: TenantServices | None = None,
               schemas: SchemaCache | None = None) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        installation.dispose()

    graphql = GraphQLEndpoints(services or TenantServices(installation), schemas)
    return Starlette(routes=[Route("/healthz", healthz), *graphql.routes(), *designer.routes(installation)],
                     lifespan=lifespan)
