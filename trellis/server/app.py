"""The ASGI application: a composition root that mounts the workspace and designer pages, the GraphQL APIs
(`/t/<tenant>/graphql`, `/t/<tenant>/metadata/graphql`) and the health check, behind the
security headers (headers.py).

The installation's settings reach the parts here: the GraphQL cost limit
(TRELLIS_GRAPHQL_MAX_COST) to the schemas, the statement timeout (TRELLIS_STATEMENT_TIMEOUT_MS)
to every database transaction a request opens, the trusted proxies (TRELLIS_FORWARDED_ALLOW_IPS)
to uvicorn's proxy-headers middleware, so the scheme a TLS-terminating proxy forwards makes the
designer's cookies Secure. Tests may hand in their own services and schemas.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from trellis import designer, workspace
from trellis.platform.statement_timeout import StatementTimeout
from trellis.platform.tenancy import Installation
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.graphql.compiled import CompiledReads
from trellis.runtime.services import TenantServices
from trellis.server.graphql_app import GraphQLEndpoints
from trellis.server.headers import SecurityHeaders


def create_app(installation: Installation, services: TenantServices | None = None,
               schemas: SchemaCache | None = None, compiled_reads: bool | CompiledReads = True) -> Starlette:
    """`compiled_reads`: whether GraphQL read queries may be answered by the compiled read path
    (or the one to use; tests turn it off to compare both paths)."""
    settings = installation.settings

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def timed_out(request: Request, error: Exception) -> Response:
        """A designer page whose database statement ran over the limit (GraphQL answers its own)."""
        return PlainTextResponse(str(error), status_code=503)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # database work runs in at most `db_threads` threads (see the setting): GraphQL's in the
        # loop's default executor, the pages' through anyio's limiter
        executor = ThreadPoolExecutor(settings.db_threads, thread_name_prefix="trellis-db")
        asyncio.get_running_loop().set_default_executor(executor)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_threads
        yield
        installation.dispose()

    services = services or TenantServices(installation, statement_timeout_ms=settings.statement_timeout_ms)
    graphql = GraphQLEndpoints(services, schemas or SchemaCache(max_cost=settings.graphql_max_cost), compiled_reads)
    proxies = Middleware(ProxyHeadersMiddleware, trusted_hosts=_trusted(settings.forwarded_allow_ips))
    return Starlette(routes=[Route("/healthz", healthz), *graphql.routes(), *workspace.routes(services),
                             *designer.routes(services)],
                     middleware=[proxies, Middleware(SecurityHeaders)], exception_handlers={StatementTimeout: timed_out},
                     lifespan=lifespan)


def _trusted(allow: str) -> list[str]:
    """The proxies to believe, as the middleware takes them (none: an empty list)."""
    return [entry.strip() for entry in allow.split(",") if entry.strip()]
