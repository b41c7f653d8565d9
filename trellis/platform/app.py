"""The ASGI application: a composition root that mounts the designer pages and health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from trellis import designer
from trellis.platform.tenancy import Installation


def create_app(installation: Installation) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        installation.dispose()

    return Starlette(routes=[Route("/healthz", healthz), *designer.routes(installation)], lifespan=lifespan)
