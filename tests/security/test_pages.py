"""The designer's pages show nothing to anonymous visitors: `/` lists no tenant, a tenant's page
needs a signed-in admin (tests/designer) or that tenant's admin token. Every response carries the
security headers; no page runs an inline script or loads anything from another site."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route

from tests.runtime.crm import OBJECTS
from tests.runtime.graphql.conftest import ROLES, TENANT
from tests.security.conftest import SiteFactory
from trellis.server.app import create_app
from trellis.server.headers import DEFAULT_POLICY

pytestmark = pytest.mark.anyio

SECURITY_HEADERS = {"x-frame-options": "DENY", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff"}
#: what a tenant's page shows its admins, and nobody else may learn
SECRETS = [TENANT, *OBJECTS, "days_to_end", "account_tier", "days_between", *ROLES, "test"]


def revealed(html: str) -> list[str]:
    words = set(re.findall(r"[A-Za-z_]+", html))
    return [secret for secret in SECRETS if secret in words]


async def test_the_landing_page_lists_no_tenant_to_anyone(site: SiteFactory) -> None:
    async with site() as served:
        for token in (None, "rep", "admin"):
            response = await served.client.get("/", headers=served.auth(token))
            assert response.status_code == 200 and revealed(response.text) == [], token


async def test_a_tenant_page_needs_an_admin_token_and_refusals_say_nothing_of_the_tenant(site: SiteFactory) -> None:
    async with site() as served:
        anonymous = await served.client.get(f"/t/{TENANT}/")
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(f"/t/{TENANT}/login")
        nobody = await served.client.get("/t/nobody/")  # a tenant that does not exist: the same answer
        assert nobody.status_code == 303 and nobody.headers["location"].startswith("/t/nobody/login")
        refused = await served.client.get(f"/t/{TENANT}/", headers=served.auth("trl_bogus"))
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert revealed(refused.text) == []
        # a token of another tenant, or a token that is not one, gets the very same page
        for path, token in (("/t/nobody/", "admin"), (f"/t/{TENANT}/", "trl_other")):
            response = await served.client.get(path, headers=served.auth(token))
            assert response.status_code == 401 and revealed(response.text) == [], (path, token)
        rep = await served.client.get(f"/t/{TENANT}/", headers=served.auth("rep"))  # not an admin: the workspace
        assert rep.status_code == 303 and rep.headers["location"] == f"/t/{TENANT}/app/" and revealed(rep.text) == []
        rep = await served.client.get(f"/t/{TENANT}/rules", headers=served.auth("rep"))
        assert rep.status_code == 403 and revealed(rep.text) == []
        admin = await served.client.get(f"/t/{TENANT}/", headers=served.auth("admin"))
        assert admin.status_code == 200
        assert {TENANT, "contract"} <= set(revealed(admin.text))
        fields = await served.client.get(f"/t/{TENANT}/objects/contract", headers=served.auth("admin"))
        assert {"contract", "days_to_end", "days_between"} <= set(revealed(fields.text))


def paths(site_routes: list[Route | Mount]) -> list[str]:
    """A URL for every route of the app (a tenant's for `{tenant}`, the stylesheet for `/static`)."""
    out = []
    for route in site_routes:
        if isinstance(route, Mount):
            out.append(route.path + "/designer.css")
        else:
            out.append(route.path.replace("{tenant}", TENANT))
    return out


async def test_every_response_carries_the_security_headers(site: SiteFactory) -> None:
    async with site() as served:
        routes = create_app(served.installation).routes
        urls = paths(routes)  # type: ignore[arg-type]
        assert {"/", f"/t/{TENANT}/", f"/t/{TENANT}/graphql", "/static/designer.css"} <= set(urls)
        seen_html = 0
        for url in [*urls, "/no/such/page"]:
            for token in (None, "admin"):
                response = await served.client.get(url, headers={**served.auth(token), "Accept": "text/html"})
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers.get(name) == value, (url, token, name)
                policy = response.headers["content-security-policy"]
                assert "frame-ancestors 'none'" in policy, (url, policy)
                if response.headers.get("content-type", "").startswith("text/html"):
                    seen_html += 1
                    scripts = re.search(r"script-src ([^;]*)", policy)
                    assert scripts is None or "unsafe" not in scripts.group(1), (url, policy)
        assert seen_html >= 5


async def test_designer_pages_allow_only_scripts_from_the_server_and_no_inline_ones(site: SiteFactory) -> None:
    async with site() as served:
        page = await served.client.get(f"/t/{TENANT}/", headers=served.auth("admin"))
        assert page.headers["content-security-policy"] == DEFAULT_POLICY and "script-src 'self'" in DEFAULT_POLICY
        assert "unsafe" not in DEFAULT_POLICY
        assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/vendor/htmx.org/htmx.min.js" defer>']
        assert "<style" not in page.text and " onclick=" not in page.text and 'href="/static/designer.css"' in page.text
        css = await served.client.get("/static/designer.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_graphiql_is_served_from_the_package_with_no_inline_script(site: SiteFactory) -> None:
    async with site() as served:
        page = await served.client.get(f"/t/{TENANT}/graphql", headers={"Accept": "text/html"})
        policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
        assert "<script>" not in page.text and policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
        for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert src.startswith("/static/"), src
            asset = await served.client.get(src)
            assert asset.status_code == 200 and len(asset.content) > 100, src
