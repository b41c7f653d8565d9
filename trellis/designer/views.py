"""The designer's routes: sign-in, objects and fields, publish and history, served under
`/t/<tenant>/`, with the stylesheet and the vendored browser assets under `/static/`.

`/` is a neutral landing page that names no tenant. Every tenant page goes through
`Designer.endpoint` (web.py): session or token, admin role, CSRF on POST.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trellis.designer import (
    approval_pages,
    channel_pages,
    login,
    metric_pages,
    object_pages,
    publish_pages,
    role_pages,
    rule_pages,
    score_pages,
    tier_pages,
    user_pages,
)
from trellis.designer.i18n import Translator, language_of
from trellis.designer.web import LANG_COOKIE, Designer, templates
from trellis.runtime.services import TenantServices

STATIC = Path(__file__).parent / "static"


def landing(request: Request) -> Response:
    t = Translator(language_of(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE), "zh-CN"))
    return templates.TemplateResponse(request, "landing.html", {
        "t": t.t, "lang": t.language, "other_lang": t.other, "tenant": None, "actor": None, "csrf": ""})


def routes(services: TenantServices) -> list[Route | Mount]:
    d = Designer(services)
    both = ["GET", "POST"]
    tenant = "/t/{tenant}"
    return [
        Route("/", landing),
        Route(f"{tenant}/login", d.endpoint(login.login_form, admin=False), methods=["GET"]),
        Route(f"{tenant}/login", d.endpoint(login.login, admin=False), methods=["POST"]),
        Route(f"{tenant}/logout", d.endpoint(login.logout, admin=False), methods=["POST"]),
        Route(f"{tenant}/", d.endpoint(object_pages.home)),
        Route(f"{tenant}/new-object", d.endpoint(object_pages.object_new), methods=both),
        Route(f"{tenant}/objects/{{object}}", d.endpoint(object_pages.object_page)),
        Route(f"{tenant}/objects/{{object}}/new-field", d.endpoint(object_pages.field_form), methods=both),
        Route(f"{tenant}/objects/{{object}}/check-formula", d.endpoint(object_pages.field_check), methods=["POST"]),
        Route(f"{tenant}/objects/{{object}}/fields/{{field}}", d.endpoint(object_pages.field_form), methods=both),
        Route(f"{tenant}/objects/{{object}}/fields/{{field}}/delete", d.endpoint(object_pages.field_delete),
              methods=["POST"]),
        Route(f"{tenant}/objects/{{object}}/new-rule", d.endpoint(object_pages.rule_form), methods=both),
        Route(f"{tenant}/objects/{{object}}/rules/{{rule}}/delete", d.endpoint(object_pages.rule_delete),
              methods=["POST"]),
        Route(f"{tenant}/rules", d.endpoint(rule_pages.rules_page)),
        Route(f"{tenant}/new-rule", d.endpoint(rule_pages.rule_new), methods=both),
        Route(f"{tenant}/rules/{{rule}}", d.endpoint(rule_pages.rule_page), methods=both),
        Route(f"{tenant}/publish", d.endpoint(publish_pages.publish_page), methods=both),
        Route(f"{tenant}/drafts/discard", d.endpoint(publish_pages.discard), methods=["POST"]),
        Route(f"{tenant}/history", d.endpoint(publish_pages.history_page)),
        Route(f"{tenant}/history/{{number:int}}/rollback", d.endpoint(publish_pages.rollback), methods=["POST"]),
        Route(f"{tenant}/users", d.endpoint(user_pages.users_page), methods=both),
        Route(f"{tenant}/users/{{email}}", d.endpoint(user_pages.user_page), methods=both),
        Route(f"{tenant}/channels", d.endpoint(channel_pages.channels_page)),
        Route(f"{tenant}/channels/{{channel}}", d.endpoint(channel_pages.channel_page), methods=both),
        # score models, tiers and metrics
        Route(f"{tenant}/score-models", d.endpoint(score_pages.scores_page)),
        Route(f"{tenant}/score-models/{{model}}", d.endpoint(score_pages.score_page), methods=both),
        Route(f"{tenant}/score-models/{{model}}/check", d.endpoint(score_pages.score_check), methods=["POST"]),
        Route(f"{tenant}/score-models/{{model}}/weights", d.endpoint(score_pages.score_weights), methods=["POST"]),
        Route(f"{tenant}/score-models/{{model}}/backtest", d.endpoint(score_pages.score_backtest), methods=["POST"]),
        Route(f"{tenant}/tiers", d.endpoint(tier_pages.tiers_page), methods=both),
        Route(f"{tenant}/metrics", d.endpoint(metric_pages.metrics_page)),
        Route(f"{tenant}/new-metric", d.endpoint(metric_pages.metric_new), methods=both),
        Route(f"{tenant}/metrics/{{metric}}", d.endpoint(metric_pages.metric_page), methods=both),
        Route(f"{tenant}/metrics/{{metric}}/preview", d.endpoint(metric_pages.metric_preview), methods=["POST"]),
        Route(f"{tenant}/approvals", d.endpoint(approval_pages.approvals_page)),
        Route(f"{tenant}/new-approval", d.endpoint(approval_pages.approval_new), methods=both),
        Route(f"{tenant}/approvals/{{process}}", d.endpoint(approval_pages.approval_page), methods=both),
        Route(f"{tenant}/approvals/{{process}}/flow", d.endpoint(approval_pages.approval_flow), methods=both),
        # roles and their permissions
        Route(f"{tenant}/roles", d.endpoint(role_pages.roles_page), methods=both),
        Route(f"{tenant}/roles/{{role}}", d.endpoint(role_pages.role_page), methods=both),
        Route(f"{tenant}/roles/{{role}}/delete", d.endpoint(role_pages.role_delete), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
