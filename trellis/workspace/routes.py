"""The workspace's routes, under `/t/<tenant>/app/`, each through `Designer.endpoint` (tenant,
session, CSRF, language) for any signed-in user (`web.members`).

`/app/-/…` are the pages that belong to no object ("-" is never an object's name); the rest is
`/app/<object>` (list), `…/new` (form), `…/<id>` (record), `…/<id>/edit` (form).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trellis.designer.web import Designer, Handler
from trellis.runtime.services import TenantServices
from trellis.workspace import dashboard, form_pages, home, list_pages, record_pages
from trellis.workspace.web import HERE, templates


def routes(services: TenantServices) -> list[Route | Mount]:
    d = Designer(services, pages=templates)

    def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        return d.endpoint(handler, admin=False)  # `web.members` asks for a signed-in user

    both, post = ["GET", "POST"], ["POST"]
    app = "/t/{tenant}/app"
    return [
        Route(f"{app}/", page(home.home)),
        Route(f"{app}/-/objects", page(list_pages.objects_page)),
        Route(f"{app}/-/approvals/{{request}}", page(home.decide), methods=post),
        Route(f"{app}/-/tasks/{{task}}/done", page(home.complete_task), methods=post),
        Route(f"{app}/-/notifications/read", page(home.mark_read), methods=post),
        # the KPI dashboard (before /{object}: "dashboard" is taken by it)
        Route(f"{app}/dashboard", page(dashboard.dashboard_page)),
        Route(f"{app}/dashboard/records", page(dashboard.drill_down_page)),
        Route(f"{app}/{{object}}", page(list_pages.list_page)),
        Route(f"{app}/{{object}}/export.csv", page(list_pages.export)),
        Route(f"{app}/{{object}}/views", page(list_pages.save_view), methods=post),
        Route(f"{app}/{{object}}/views/{{view}}/delete", page(list_pages.delete_view), methods=post),
        Route(f"{app}/{{object}}/new", page(form_pages.new_form), methods=both),
        Route(f"{app}/{{object}}/lookup", page(form_pages.lookup_options)),
        Route(f"{app}/{{object}}/{{id}}", page(record_pages.record_page)),
        Route(f"{app}/{{object}}/{{id}}/edit", page(form_pages.edit_form), methods=both),
        Route(f"{app}/{{object}}/{{id}}/delete", page(record_pages.delete), methods=post),
        Route(f"{app}/{{object}}/{{id}}/restore", page(record_pages.restore), methods=post),
        Route(f"{app}/{{object}}/{{id}}/approval", page(record_pages.submit_for_approval), methods=post),
        Route(f"{app}/{{object}}/{{id}}/approval/{{request}}/recall", page(record_pages.recall_approval), methods=post),
        Mount("/static/workspace", StaticFiles(directory=HERE / "static")),
    ]
