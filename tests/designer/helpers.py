"""What the score, tier and metric page tests share: an admin signed in, a field's error read off a page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.designer.conftest import ADMIN, PASSWORD, Browser
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app


@asynccontextmanager
async def signed_in_admin(installation: Installation, tenant: str) -> AsyncIterator[Browser]:
    """The app over HTTP in-process, with ADMIN (made here, admin role) signed in."""
    services = TenantServices(installation)
    services.users(tenant).create_user(ADMIN, name="Ann", roles=["admin"], password=PASSWORD)
    transport = httpx.ASGITransport(app=create_app(installation, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        browser = Browser(installation, client)
        await browser.sign_in()
        yield browser


def error_of(html: str, field: str) -> str:
    """The error shown beside form field `field` (the test fails, naming those shown, when none is)."""
    found = re.search(rf'<span class="field-error" data-field="{field}">([^<]*)</span>', html)
    assert found, (field, re.findall(r'data-field="([^"]+)"', html))
    return found.group(1)
