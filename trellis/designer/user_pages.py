"""Users, their roles and API tokens, and what each role grants: the admin's people pages.

Everything goes through `UserService` (as `trellis user …`, `trellis role …`, `trellis token …`
do), whose errors (an email taken, a password too short, an unknown role) are shown beside the
form field they concern. A new token's secret is shown once, on the page that created it,
never again. An admin cannot take the admin role from themselves or deactivate themselves here:
a designer without any admin left would lock everyone out.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from trellis.designer.fieldforms import label_text
from trellis.designer.web import Page
from trellis.metadata.roles import ADMIN_ROLE
from trellis.platform.clock import utc_now
from trellis.runtime.identity import IdentityError

GRANTS = ("create", "read", "update", "delete")


def _roles(page: Page) -> list[str]:
    release = page.services.store(page.tenant_name).current()
    return [ADMIN_ROLE] + ([] if release is None else sorted(release.metadata.names("role")))


def _grid(page: Page) -> list[dict[str, Any]]:
    """Each role of the current release: per object, what it grants (create/read/update/delete)."""
    release = page.services.store(page.tenant_name).current()
    if release is None:
        return []
    rows = []
    for name, document in sorted(release.metadata.documents("role").items()):
        objects = document.get("objects", {})
        rows.append({"name": name, "label": label_text(document.get("x-label"), page.t.language, name),
                     "objects": [{"name": obj, **{g: _grant(objects[obj].get(g)) for g in GRANTS},
                                  "fields": len(objects[obj].get("fields", {}))} for obj in sorted(objects)]})
    return rows


def _grant(value: Any) -> str:
    if value is True:
        return "✓"
    return "" if value in (None, False, "none") else str(value)


def users_page(page: Page) -> Response:
    service = page.services.users(page.tenant_name)
    values = {k: page.value(k) for k in ("email", "name")}
    chosen = [r for r in _roles(page) if page.ticked(f"role_{r}")]
    context: dict[str, Any] = {"users": service.list_users(), "roles": _roles(page), "grid": _grid(page),
                               "values": values, "chosen": chosen, "errors": {}, "grants": GRANTS}
    if page.request.method == "GET":
        return page.render("users.html", context)
    password = page.form.get("password")
    try:
        service.create_user(values["email"], name=values["name"] or None,
                            password=password if isinstance(password, str) and password else None, roles=chosen)
    except IdentityError as error:
        field = "password" if "password" in str(error) else "roles" if "role" in str(error) else "email"
        context["errors"] = {field: str(error)}
        context["error"] = page.t.t("form.fix")
        return page.render("users.html", context, 422)
    return page.redirect(f"{page.base}/users/{values['email'].strip().lower()}?done=saved")


def user_page(page: Page) -> Response:
    service = page.services.users(page.tenant_name)
    email = page.request.path_params["email"]
    try:
        user = service.get_user(email)
    except IdentityError:
        return page.refuse(404)
    context: dict[str, Any] = {"user": user, "roles": _roles(page), "errors": {}, "now": utc_now(),
                               "tokens": service.list_tokens(email), "self": page.actor is not None
                               and page.actor.user_id == user.id}
    if page.request.query_params.get("done") == "saved":
        context["notice"] = page.t.t("users.saved")
    if page.request.method == "GET":
        return page.render("user.html", context)
    action = page.value("action")
    try:
        secret = _act(page, action, email, context["self"])
    except IdentityError as error:
        context.update(errors={action: str(error)}, error=page.t.t("form.fix"),
                       user=service.get_user(email), tokens=service.list_tokens(email))
        return page.render("user.html", context, 422)
    if secret is None:
        return page.redirect(f"{page.base}/users/{email}?done=saved")
    # the new token's secret: shown on this answer only
    context.update(secret=secret, user=service.get_user(email), tokens=service.list_tokens(email))
    return page.render("user.html", context)


def _act(page: Page, action: str, email: str, is_self: bool) -> str | None:
    """Do what the form asked; a new token's secret when one was made."""
    service = page.services.users(page.tenant_name)
    if action == "roles":
        held = set(service.get_user(email).roles)
        wanted = {r for r in _roles(page) if page.ticked(f"role_{r}")}
        if is_self and ADMIN_ROLE in held and ADMIN_ROLE not in wanted:
            raise IdentityError(page.t.t("users.keep_own_admin"))
        for role in sorted(wanted - held):
            service.assign_role(email, role)
        for role in sorted(held - wanted):
            service.revoke_role(email, role)
    elif action == "active":
        if is_self:
            raise IdentityError(page.t.t("users.keep_own_admin"))
        service.set_active(email, page.ticked("active"))
    elif action == "password":
        password = page.form.get("password")
        service.set_password(email, password if isinstance(password, str) and password else None)
    elif action == "token":
        days = page.value("expires_days")
        if days and not days.isdigit():
            raise IdentityError(page.t.t("form.bad_number"))
        return service.create_token(email, page.value("name") or None, int(days) if days else None)[1]
    elif action == "revoke":
        token_id = page.value("token")
        if token_id not in {t.id for t in service.list_tokens(email)}:
            raise IdentityError(page.t.t("refused.not_found_body"))
        service.revoke_token(token_id)
    else:
        raise IdentityError(page.t.t("refused.not_found_body"))
    return None
