"""A tenant with the renewals app, customised through the CLI and through the metadata API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Cli
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

TENANT = "acme"
ADMIN = "ann@example.com"


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(settings, capsys)


@pytest.fixture
def store(installation: Installation) -> MetadataStore:
    installation.create_tenant(TENANT)
    return MetadataStore(installation.database(TENANT))


def edit_with_cli(cli: Cli, folder: Path, edits: dict[str, Callable[[dict[str, Any]], None]]) -> str:
    """Export the tenant's metadata, change some files, apply the folder: what an implementer does."""
    cli.ok("metadata", "export", "--tenant", TENANT, str(folder))
    for item, edit in edits.items():
        path = folder / f"{item}.json"
        document = json.loads(path.read_text("utf-8"))
        edit(document)
        path.write_text(json.dumps(document, ensure_ascii=False, indent=2), "utf-8")
    return cli.ok("metadata", "apply", str(folder), "--tenant", TENANT, "-m", "customised with the CLI")


def metadata_api(installation: Installation, calls: list[tuple[str, dict[str, Any] | None]]) -> list[dict[str, Any]]:
    """Each call's data from `/t/<tenant>/metadata/graphql`, as an admin (the designer's API)."""
    services = TenantServices(installation)
    users = services.users(TENANT)
    if not any(u.email == ADMIN for u in users.list_users()):
        users.create_user(ADMIN, name="Ann", roles=["admin"])
    _, token = users.create_token(ADMIN)

    async def run() -> list[dict[str, Any]]:
        app = create_app(installation, services)
        headers = {"Authorization": f"Bearer {token}"}
        answers = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for query, variables in calls:
                response = await client.post(f"/t/{TENANT}/metadata/graphql", headers=headers,
                                             json={"query": query, "variables": variables})
                body = response.json()
                assert response.status_code == 200 and "errors" not in body, body
                answers.append(body["data"])
        return answers

    return asyncio.run(run())


def publish_with_api(installation: Installation, drafts: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """Save drafts and publish them through the metadata API, as the designer does."""
    save = "mutation($k: String!, $n: String!, $d: JSON) { saveDraft(kind: $k, name: $n, document: $d) { name } }"
    calls: list[tuple[str, dict[str, Any] | None]] = [(save, {"k": k, "n": n, "d": d}) for k, n, d in drafts]
    calls.append(('mutation { publish(message: "customised in the designer") { number source } }', None))
    return metadata_api(installation, calls)[-1]["publish"]  # type: ignore[no-any-return]
