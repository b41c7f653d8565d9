"""The session cookie is Secure when the client's connection is https, also behind a
TLS-terminating proxy that is trusted (TRELLIS_FORWARDED_ALLOW_IPS), and never because an
untrusted client says so; TRELLIS_SECURE_COOKIES makes it Secure whatever the scheme."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tests.designer.conftest import ADMIN, PASSWORD, csrf_of
from tests.runtime.graphql.conftest import TENANT
from trellis.platform.settings import Settings, SettingsError
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio
PROXY = "10.0.0.5"


async def _session_cookie(installation: Installation, settings: Settings, client: str, proto: str | None) -> str:
    """The Set-Cookie of a sign-in sent from `client` with X-Forwarded-Proto `proto`."""
    served = Installation(settings)
    try:
        transport = httpx.ASGITransport(app=create_app(served, TenantServices(served)), client=(client, 40000))
        headers = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.9"} if proto else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
            page = await http.get(f"/t/{TENANT}/login")
            # the pre-sign-in cookie travels back even when it is Secure and the test client speaks http
            http.cookies.set("trellis_login", page.cookies.get("trellis_login") or "", path=f"/t/{TENANT}/")
            signed = await http.post(f"/t/{TENANT}/login", data={"csrf": csrf_of(page.text), "email": ADMIN,
                                                                  "password": PASSWORD})
            assert signed.status_code == 303, signed.text[:500]
            return next(h for h in signed.headers.get_list("set-cookie") if h.startswith("trellis_session="))
    finally:
        served.dispose()


async def test_a_trusted_proxy_forwarding_https_gets_a_secure_cookie_an_untrusted_client_does_not(
        installation: Installation, services: TenantServices) -> None:
    behind = replace(installation.settings, forwarded_allow_ips=f"{PROXY},192.0.2.0/24")
    assert "Secure" in await _session_cookie(installation, behind, PROXY, "https")
    assert "Secure" in await _session_cookie(installation, behind, "192.0.2.44", "https")  # a trusted network
    assert "Secure" not in await _session_cookie(installation, behind, PROXY, None)  # plain http through it
    # the same header from an address that is not a trusted proxy is ignored
    assert "Secure" not in await _session_cookie(installation, behind, "198.51.100.7", "https")
    # the default trusts a proxy on the same host only
    assert "Secure" not in await _session_cookie(installation, installation.settings, PROXY, "https")


async def test_secure_cookies_can_be_forced_whatever_the_scheme(
        installation: Installation, services: TenantServices) -> None:
    forced = replace(installation.settings, secure_cookies=True)
    assert "Secure" in await _session_cookie(installation, forced, "198.51.100.7", None)


def test_the_proxy_settings_are_read_from_the_environment_and_bad_values_name_the_setting() -> None:
    settings = Settings.from_env({"TRELLIS_FORWARDED_ALLOW_IPS": "10.0.0.5, 10.1.0.0/16",
                                  "TRELLIS_SECURE_COOKIES": "yes"})
    assert settings.forwarded_allow_ips == "10.0.0.5, 10.1.0.0/16" and settings.secure_cookies
    again = Settings.from_env(settings.environ())  # worker processes read them back
    assert again.forwarded_allow_ips == settings.forwarded_allow_ips and again.secure_cookies
    assert Settings.from_env({}).forwarded_allow_ips == "127.0.0.1" and not Settings.from_env({}).secure_cookies
    with pytest.raises(SettingsError, match="TRELLIS_FORWARDED_ALLOW_IPS: .*'proxy.local'"):
        Settings.from_env({"TRELLIS_FORWARDED_ALLOW_IPS": "10.0.0.5,proxy.local"})
    with pytest.raises(SettingsError, match="TRELLIS_SECURE_COOKIES: .*'maybe'"):
        Settings.from_env({"TRELLIS_SECURE_COOKIES": "maybe"})
