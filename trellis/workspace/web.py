"""The workspace's frame over the designer's pipeline: its templates, and pages for any
signed-in user of the tenant (the designer's are for admins).

`members` wraps a page handler: anonymous visitors go to sign-in (`Page.sign_in_first`);
everything else (tenant, session, CSRF, language) is `Designer.endpoint`'s.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from trellis.designer.web import Handler, Page
from trellis.runtime.access import Scope
from trellis.runtime.records.service import RecordsService
from trellis.workspace.fields import ObjectView, Presenter

HERE = Path(__file__).parent
DESIGNER_TEMPLATES = HERE.parent / "designer" / "templates"

#: The workspace's templates first; the designer's (sign-in, refusals, macros) behind them, so
#: they render inside the workspace's own `base.html`, which extends `designer/base.html`.
templates = Jinja2Templates(env=Environment(autoescape=True, loader=ChoiceLoader([
    FileSystemLoader(HERE / "templates"), PrefixLoader({"designer": FileSystemLoader(DESIGNER_TEMPLATES)}),
    FileSystemLoader(DESIGNER_TEMPLATES)])))


def members(handler: Handler) -> Handler:
    """`handler` for any signed-in user of the tenant."""
    def page(p: Page) -> Response:
        return p.sign_in_first() if p.actor is None else handler(p)

    page.__name__ = handler.__name__
    page.__doc__ = handler.__doc__
    return page


def app_base(page: Page) -> str:
    return f"{page.base}/app"


def object_view(page: Page, service: RecordsService | None = None) -> ObjectView | None:
    """The object named in the path as the signed-in user sees it; None when there is no such
    object or they may not read it (both answered 404: nothing is revealed). `service`: the
    page's records service, whose release to read (spares reading the current one again)."""
    assert page.actor is not None
    registry = service.registry if service is not None else page.services.registry(page.tenant_name)
    obj = registry.objects.get(page.request.path_params["object"])
    if obj is None or page.actor.policy.scope(obj.name, "read") is Scope.NONE:
        return None
    return ObjectView(obj, page.actor, page.t.language)


def records(page: Page) -> RecordsService:
    """The records service for this page: rule messages in the page's language."""
    return page.services.records(page.tenant_name, locale=page.t.language)


def presenter(page: Page, service: RecordsService) -> Presenter:
    assert page.actor is not None
    return Presenter(service, page.actor, app_base(page), page.t.t, service.timezone)


def refuse(page: Page, status: int, message: str) -> Response:
    """A refusal in the workspace's words (the designer's 403 speaks of admins)."""
    title = {403: "refused.not_allowed", 404: "refused.not_found"}.get(status, "ws.error")
    return page.render("refused.html", {"title": page.t.t(title), "message": message}, status)

