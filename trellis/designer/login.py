"""Signing in and out of a tenant's designer.

Sign-in takes the tenant's users' email and password (argon2, `UserService.authenticate`),
throttled per (email, client address) in the database (sessions.Throttle). A wrong password,
an unknown email and an unknown tenant get the same answer. A successful sign-in starts a new
session (a fresh id, so a session id planted before sign-in is worthless) and goes to `next`
only when it is a page of the same tenant.
"""

from __future__ import annotations

from starlette.responses import Response

from trellis.designer.web import LOGIN_COOKIE, SESSION_COOKIE, Page
from trellis.runtime.identity import verify_password


def _address(page: Page) -> str:
    return page.request.client.host if page.request.client else "unknown"


def _next(page: Page) -> str:
    wanted = page.value("next") or page.request.query_params.get("next", "")
    return wanted if wanted.startswith(page.base + "/") and "//" not in wanted else page.base + "/"


def login_form(page: Page) -> Response:
    if page.actor is not None and page.request.method == "GET" and page.session_id is not None:
        return page.redirect(_next(page))
    notice = page.t.t("login.signed_out") if page.request.query_params.get("out") else None
    return page.render("login.html", {"email": "", "next": _next(page), "notice": notice})


def login(page: Page) -> Response:
    email, password = page.value("email"), page.form.get("password")
    password = password if isinstance(password, str) else ""
    context = {"email": email, "next": _next(page)}
    if page.tenant is None:  # one password verification like any wrong sign-in: the time tells nothing
        verify_password(None, password)
        return page.render("login.html", {**context, "error": page.t.t("login.wrong")}, 401)
    throttle = page.designer.throttle(page.tenant_name)
    locked = throttle.locked_until(email, _address(page))
    if locked is not None:
        return page.render("login.html", {**context, "error": page.t.t("login.locked", until=f"{locked:%H:%M}")},
                           429)
    actor = page.services.users(page.tenant_name).authenticate(email, password) if email and password else None
    if actor is None:
        locked = throttle.failed(email, _address(page))
        error = page.t.t("login.locked", until=f"{locked:%H:%M}") if locked else page.t.t("login.wrong")
        return page.render("login.html", {**context, "error": error}, 429 if locked else 401)
    throttle.succeeded(email, _address(page))
    session = page.designer.sessions(page.tenant_name).start(actor.user_id)
    page.cookies[SESSION_COOKIE] = session.id
    response = page.redirect(context["next"])
    response.delete_cookie(LOGIN_COOKIE, path=page.base + "/")
    return response


def logout(page: Page) -> Response:
    if page.session_id is not None:
        page.designer.sessions(page.tenant_name).end(page.session_id)
    page.cookies[SESSION_COOKIE] = ""
    return page.redirect(f"{page.base}/login?out=1")
