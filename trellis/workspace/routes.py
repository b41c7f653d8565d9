"""The workspace's routes, under `/t/<tenant>/app/`, each through `Designer.endpoint` (tenant,
session, CSRF, language) for any signed-in user (`web.members`).

`/app/-/…` are the pages that belong to no object ("-" is never an object's name); the rest is
`/app/<object>` (list), `…/new` (form), `…/<id>` (record), `…/<id>/edit` (form).
"""

from __future__ import annotations

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trellis.designer.web import Designer
from trellis.runtime.services import TenantServices
from trellis.workspace import dashboard, form_pages, home, list_pages, record_pages
from trellis.workspace.web import HERE, templates


def routes(services: TenantServices) -> list[Route | Mount]:
    d = Designer(services, pages=templates)
    both, post = ["GET", "POST"], ["POST"]
    app = "/t/{tenant}/app"
    return [
        Route(f"{app}/", d.endpoint(home.home, admin=False)),
        Route(f"{app}/-/objects", d.endpoint(list_pages.objects_page, admin=False)),
        Route(f"{app}/-/approvals/{{request}}", d.endpoint(home.decide, admin=False), methods=post),
        Route(f"{app}/-/tasks/{{task}}/done", d.endpoint(home.complete_task, admin=False), methods=post),
        Route(f"{app}/-/notifications/read", d.endpoint(home.mark_read, admin=False), methods=post),
        # the KPI dashboard (before /{object}: "dashboard" is taken by it)
        Route(f"{app}/dashboard", d.endpoint(dashboard.dashboard_page, admin=False)),
        Route(f"{app}/dashboard/records", d.endpoint(dashboard.drill_down_page, admin=False)),
        Route(f"{app}/{{object}}", d.endpoint(list_pages.list_page, admin=False)),
        Route(f"{app}/{{object}}/export.csv", d.endpoint(list_pages.export, admin=False)),
        Route(f"{app}/{{object}}/views", d.endpoint(list_pages.save_view, admin=False), methods=post),
        Route(f"{app}/{{object}}/views/{{view}}/delete", d.endpoint(list_pages.delete_view, admin=False), methods=post),
        Route(f"{app}/{{object}}/new", d.endpoint(form_pages.new_form, admin=False), methods=both),
        Route(f"{app}/{{object}}/lookup", d.endpoint(form_pages.lookup_options, admin=False)),
        Route(f"{app}/{{object}}/{{id}}", d.endpoint(record_pages.record_page, admin=False)),
        Route(f"{app}/{{object}}/{{id}}/edit", d.endpoint(form_pages.edit_form, admin=False), methods=both),
        Route(f"{app}/{{object}}/{{id}}/delete", d.endpoint(record_pages.delete, admin=False), methods=post),
        Route(f"{app}/{{object}}/{{id}}/restore", d.endpoint(record_pages.restore, admin=False), methods=post),
        Mount("/static/workspace", StaticFiles(directory=HERE / "static")),
    ]
