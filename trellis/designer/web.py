"""The one path every designer request takes: tenant, language, who is signed in, CSRF, then the page.

A page handler is a plain function of a `Page` (the request's tenant, signed-in admin, form,
translator and CSRF token) that returns a response; `Designer.endpoint` wraps it into an
async Starlette endpoint that does the checks in this order, off the event loop:

1. the tenant (an unknown one is treated like an anonymous visitor: nothing is revealed);
2. the visitor: a session cookie (browsers) or `Authorization: Bearer` (API clients, GET only);
3. admin pages: anonymous → the sign-in page, signed in without the admin role → 403;
4. POST: the CSRF token (form field `csrf` or header `X-CSRF-Token`) must match the session's
   (the sign-in form's is bound to a pre-sign-in cookie) → else 403 and nothing is done.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import anyio
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from trellis.designer.fieldforms import Problem
from trellis.designer.i18n import Translator, language_of
from trellis.designer.sessions import SESSION_LIFETIME, Sessions, Signer, Throttle
from trellis.platform.tenancy import Tenant, TenantError
from trellis.runtime.access import Actor
from trellis.runtime.identity import Unauthenticated
from trellis.runtime.identity.tokens import bearer_secret
from trellis.runtime.services import TenantServices

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

SESSION_COOKIE = "trellis_session"
LOGIN_COOKIE = "trellis_login"
LANG_COOKIE = "trellis_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_BYTES = 1_000_000
WORKSPACE = "/app/"  # the workspace's home, under the tenant (trellis.workspace)


@dataclass
class Page:
    """One request as a page handler sees it."""

    request: Request
    designer: Designer
    tenant_name: str
    tenant: Tenant | None
    t: Translator
    actor: Actor | None = None
    session_id: str | None = None
    form: FormData = field(default_factory=FormData)
    csrf: str = ""
    cookies: dict[str, str] = field(default_factory=dict)  # to set on the response

    @property
    def base(self) -> str:
        return f"/t/{self.tenant_name}"

    def value(self, name: str) -> str:
        found = self.form.get(name)
        return found.strip() if isinstance(found, str) else ""

    def ticked(self, name: str) -> bool:
        return self.form.get(name) in ("on", "true", "1")

    @property
    def services(self) -> TenantServices:
        return self.designer.services

    def draft(self, kind: str, name: str) -> Mapping[str, Any] | None:
        """The drafted item of `kind` named `name` (what the designer's forms edit), None if absent."""
        found: Mapping[str, Any] | None = self.services.store(self.tenant_name).draft_set().documents(kind).get(name)
        return found

    @property
    def author(self) -> str:
        return self.actor.email if self.actor else "designer"

    def errors(self, problems: list[Problem]) -> dict[str, str]:
        """Problems as the form shows them: per form field, in the page's language."""
        out: dict[str, str] = {}
        for form_field, key, values in problems:
            text = self.t.t(key, **values)
            out[form_field] = f"{out[form_field]} {text}" if form_field in out else text
        return out

    def render(self, template: str, context: Mapping[str, Any] | None = None, status: int = 200) -> Response:
        return self.designer.templates.TemplateResponse(self.request, template, {
            "t": self.t.t, "lang": self.t.language, "other_lang": self.t.other, "base": self.base,
            "tenant": self.tenant, "actor": self.actor, "csrf": self.csrf, "path": self.request.url.path,
            "admin": self.actor is not None and self.actor.policy.is_admin, "signed_in": self.session_id is not None,
            **(context or {})}, status_code=status)

    def redirect(self, path: str) -> Response:
        return RedirectResponse(path, status_code=303)

    def sign_in_first(self) -> Response:
        """An anonymous visitor's answer: a browser goes to sign-in, an API client gets 401."""
        if self.request.method == "GET" and "authorization" not in self.request.headers:
            return self.redirect(f"{self.base}/login?next={quote(self.request.url.path)}")
        response = self.refuse(401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="trellis"'
        return response

    def refuse(self, status: int) -> Response:
        title, body = {401: ("refused.sign_in", "refused.sign_in_body"),
                       403: ("refused.not_allowed", "refused.admins_only"),
                       404: ("refused.not_found", "refused.not_found_body")}[status]
        return self.render("refused.html", {"title": self.t.t(title), "message": self.t.t(body)}, status)


Handler = Callable[[Page], Response]


class Designer:
    """The designer's request pipeline over one installation's services."""

    def __init__(self, services: TenantServices, pages: Jinja2Templates | None = None):
        """`pages`: where `Page.render` finds templates (the workspace brings its own, which
        fall back to the designer's for sign-in and refusals)."""
        self.services = services
        self.templates = pages or templates
        self.signer = Signer(services.installation.secrets.derive("designer-session"))

    # -- who is asking ---------------------------------------------------------------------

    def _tenant(self, name: str) -> Tenant | None:
        try:
            return self.services.tenant(name)
        except TenantError:
            return None

    def sessions(self, tenant: str) -> Sessions:
        return Sessions(self.services.database(tenant))

    def throttle(self, tenant: str) -> Throttle:
        return Throttle(self.services.database(tenant))

    def _visitor(self, request: Request, tenant: str) -> tuple[Actor | None, str | None]:
        """(actor, session id) from the session cookie, else (actor, None) from a bearer token
        on a GET, else (None, None)."""
        session_id = self.signer.unsign(request.cookies.get(SESSION_COOKIE))
        if session_id is not None:
            visit = self.sessions(tenant).visit(session_id)  # session, active user, roles, release: one statement
            if visit is not None:
                # the password was checked when the session started; roles are read afresh each
                # time, the policy of (release, roles) built once by the tenant's user service
                policy = self.services.users(tenant).policy_at(visit.release, visit.roles)
                actor = Actor(user_id=visit.session.user_id, email=visit.email, roles=visit.roles, policy=policy)
                return actor, session_id
        token = bearer_secret(request.headers.get("authorization"))
        if token is not None and request.method == "GET":
            try:
                return self.services.users(tenant).actor_for_token(token), None
            except Unauthenticated:
                return None, None
        return None, None

    def csrf_for(self, page: Page, request: Request) -> str:
        """The CSRF token of this visitor: bound to the session, else to a pre-sign-in cookie."""
        if page.session_id is not None:
            return self.signer.token("csrf", page.session_id)
        pre = request.cookies.get(LOGIN_COOKIE) or page.cookies.get(LOGIN_COOKIE)
        if pre is None:
            pre = page.cookies[LOGIN_COOKIE] = secrets.token_urlsafe(24)
        return self.signer.token("csrf-login", pre)

    # -- the endpoint ----------------------------------------------------------------------

    def endpoint(self, handler: Handler, *, admin: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = FormData()
            if request.method == "POST":
                read = await _read_form(request)
                if isinstance(read, Response):
                    return read
                form = read
            response = await anyio.to_thread.run_sync(self._handle, request, handler, admin, form)
            return response

        return endpoint

    def _handle(self, request: Request, handler: Handler, admin: bool, form: FormData) -> Response:
        name = request.path_params["tenant"]
        tenant = self._tenant(name)
        chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        page = Page(request, self, name, tenant, Translator(language_of(chosen, tenant.locale if tenant else "")),
                    form=form)
        if tenant is not None:
            page.actor, page.session_id = self._visitor(request, name)
        if admin:
            if page.actor is None:
                return page.sign_in_first()
            if not page.actor.policy.is_admin:  # a signed-in user who is not an admin works in the workspace
                at_home = request.method == "GET" and request.url.path == page.base + "/"
                return page.redirect(page.base + WORKSPACE) if at_home else page.refuse(403)
        page.csrf = self.csrf_for(page, request)
        if request.method == "POST" and not self._csrf_ok(page, request):
            return page.render("refused.html", {"title": page.t.t("refused.not_allowed"),
                                                "message": page.t.t("refused.csrf")}, 403)
        response = handler(page)
        self._set_cookies(page, request, response)
        return response

    def _csrf_ok(self, page: Page, request: Request) -> bool:
        sent = page.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not isinstance(sent, str):
            return False
        if page.session_id is not None:
            return self.signer.check_token("csrf", page.session_id, sent)
        pre = request.cookies.get(LOGIN_COOKIE)
        return pre is not None and self.signer.check_token("csrf-login", pre, sent)

    def _set_cookies(self, page: Page, request: Request, response: Response) -> None:
        # https as the client sees it: uvicorn's proxy headers give a trusted proxy's scheme
        secure = request.url.scheme == "https" or self.services.installation.settings.secure_cookies
        chosen = request.query_params.get("lang")
        if chosen and chosen == page.t.language:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="lax",
                                httponly=True, secure=secure)
        for name, value in page.cookies.items():
            if name == SESSION_COOKIE:
                if value:
                    response.set_cookie(SESSION_COOKIE, self.signer.sign(value),
                                        max_age=int(SESSION_LIFETIME.total_seconds()), path=page.base + "/",
                                        httponly=True, samesite="lax", secure=secure)
                else:
                    response.delete_cookie(SESSION_COOKIE, path=page.base + "/", httponly=True, samesite="lax",
                                           secure=secure)
            else:
                response.set_cookie(name, value, max_age=3600, path=page.base + "/", httponly=True,
                                    samesite="lax", secure=secure)


async def _read_form(request: Request) -> FormData | Response:
    """An urlencoded form (the only kind the pages send), read up to MAX_FORM_BYTES as it arrives."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return Response("send the form as application/x-www-form-urlencoded", status_code=415)
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return Response("form too large", status_code=413, headers={"Connection": "close"})
        chunks.append(chunk)
    try:
        pairs = parse_qsl(b"".join(chunks).decode("utf-8"), keep_blank_values=True, max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        return Response("malformed form", status_code=400)
    # browsers send a textarea's line breaks as CRLF; templates and choices are stored with LF
    fields: list[tuple[str, str | UploadFile]] = [(k, v.replace("\r\n", "\n")) for k, v in pairs]
    return FormData(fields)
