"""Read-only pages over a tenant's published metadata: the first rooms of the designer.

`/` is a neutral landing page: it lists no tenants, to anyone. `/t/<tenant>/` shows a tenant's
objects, fields (hidden ones too), formulas and release history, to that tenant's admins only
(access.py). The pages read through the same services as the CLI and GraphQL; editing arrives
with the designer issue. The stylesheet is served from the package (`/static/`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from trellis.designer.access import Refused, tenant_admin
from trellis.metadata.model import ObjectDef, localized
from trellis.runtime.services import TenantServices

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC = Path(__file__).parent / "static"


def label(labels: dict[str, str] | Any, locale: str, fallback: str) -> str:
    return localized(labels or {}, locale, fallback)


def _object_view(obj: ObjectDef, locale: str) -> dict[str, Any]:
    return {
        "name": obj.name,
        "label": label(obj.label, locale, obj.name),
        "fields": [
            {"name": f.name, "label": label(f.label, locale, f.name), "type": f.type.value,
             "required": f.required, "ref": f.ref, "formula": f.formula, "live": f.live,
             "choices": f.choices}
            for f in obj.fields.values()
        ],
    }


def routes(services: TenantServices) -> list[Route | Mount]:
    """Plain (sync) endpoints: Starlette runs them in its thread pool, off the event loop."""

    def landing(request: Request) -> Response:
        return templates.TemplateResponse(request, "landing.html")

    def tenant(request: Request) -> Response:
        name = request.path_params["tenant"]
        try:
            tenant_admin(request, services, name)
        except Refused as refused:
            headers = {"WWW-Authenticate": 'Bearer realm="trellis"'} if refused.status == 401 else None
            return templates.TemplateResponse(request, "refused.html", {"status": refused.status,
                                                                        "message": refused.message},
                                              status_code=refused.status, headers=headers)
        found = services.tenant(name)
        store = services.store(name)
        release = store.current()
        objects = [_object_view(o, found.locale) for o in release.metadata.objects.values()] if release else []
        return templates.TemplateResponse(request, "tenant.html", {
            "tenant": found, "release": release, "objects": objects, "history": store.history()})

    return [Route("/", landing), Route("/t/{tenant}/", tenant), Mount("/static", StaticFiles(directory=STATIC))]
