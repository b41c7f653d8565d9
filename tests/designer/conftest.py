"""A CRM tenant with an admin and a rep who both have passwords, served by the app over HTTP
in-process on both databases; `Browser` signs in as a browser does (cookies, the CSRF token
read from the page)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from tests.runtime.graphql.conftest import TENANT, crm_set
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

ADMIN, REP, PASSWORD = "ann@example.com", "rob@example.com", "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


@dataclass
class Browser:
    installation: Installation
    client: httpx.AsyncClient

    @property
    def base(self) -> str:
        return f"/t/{TENANT}"

    async def sign_in(self, email: str = ADMIN, password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get(f"{self.base}/login")
        return await self.client.post(f"{self.base}/login", data={
            "csrf": csrf_of(page.text), "email": email, "password": password})

    async def form(self, path: str) -> tuple[str, dict[str, str]]:
        """The page's HTML and its first form's hidden inputs (csrf, version, fingerprint…)."""
        page = await self.client.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        return page.text, hidden

    async def submit(self, path: str, data: dict[str, str], page: str | None = None) -> httpx.Response:
        """POST `data` with the hidden inputs of the form at `page` (default: `path`)."""
        _, hidden = await self.form(page or path)
        return await self.client.post(path, data={**hidden, **data})


@pytest.fixture
def services(installation: Installation) -> TenantServices:
    installation.create_tenant(TENANT)
    services = TenantServices(installation)
    services.store(TENANT).publish(crm_set(), author="test")
    users = services.users(TENANT)
    users.create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
    users.create_user(REP, name="Rob", roles=["rep"], password=PASSWORD)
    return services


@pytest.fixture
async def browser(installation: Installation, services: TenantServices) -> AsyncIterator[Browser]:
    app = create_app(installation, services)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Browser(installation, client)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
