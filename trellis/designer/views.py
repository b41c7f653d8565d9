"""Read-only pages over tenants and their published metadata: the first rooms of the designer.

They read through the same services as the CLI (tenancy, release store); editing arrives with
the designer issue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from trellis.metadata.model import ObjectDef, localized
from trellis.platform.tenancy import Installation, TenantError
from trellis.runtime.releases import MetadataStore

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


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


def routes(installation: Installation) -> list[Route]:
    """Plain (sync) endpoints: Starlette runs them in its thread pool, off the event loop."""

    def tenants(request: Request) -> Response:
        rows = []
        for tenant in installation.tenants():
            store = MetadataStore(installation.database(tenant.name))
            rows.append({"tenant": tenant, "release": store.current_number()})
        return templates.TemplateResponse(request, "tenants.html", {"rows": rows})

    def tenant(request: Request) -> Response:
        name = request.path_params["tenant"]
        try:
            found = installation.tenant(name)
        except TenantError as error:
            return templates.TemplateResponse(request, "error.html", {"message": str(error)}, status_code=404)
        store = MetadataStore(installation.database(name))
        release = store.current()
        objects = [_object_view(o, found.locale) for o in release.metadata.objects.values()] if release else []
        return templates.TemplateResponse(request, "tenant.html", {
            "tenant": found, "release": release, "objects": objects, "history": store.history()})

    return [Route("/", tenants), Route("/t/{tenant}/", tenant)]
