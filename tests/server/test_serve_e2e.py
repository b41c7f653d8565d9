"""End to end: a real `trellis serve` process on loopback, set up with the CLI, used over HTTP.

Metadata is applied, a user and a token are created with the `trellis` command; records are
created, read, updated and deleted through GraphQL; a field published while the server runs is
queried on the very next request; malformed, over-deep, over-wide and unauthorised requests each
get their error code, never a 500.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.graphql import Server, clean_env, cli_command
from trellis.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "crm"
PASSWORD = "a long enough password"

pytestmark = pytest.mark.slow


class Trellis:
    """The `trellis` command against one installation, as separate processes."""

    def __init__(self, settings: Settings):
        self.base = cli_command(settings)

    def run(self, *argv: str) -> str:
        done = subprocess.run([*self.base, *argv], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"trellis {' '.join(argv)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[Trellis, str]]:
    """`trellis serve --workers 2` on a free loopback port, stopped (workers too) after the test."""
    with Server(settings, workers=2) as running:
        yield Trellis(settings), running.url


class Client:
    def __init__(self, url: str, token: str):
        self.http = httpx.Client(base_url=url, timeout=30)
        self.path = "/t/acme/graphql"
        self.token = token

    def post(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        response = self.http.post(self.path, json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code < 500, response.text
        return response

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(query, variables)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def code(self, query: str, token: str | None = None) -> tuple[int, str]:
        response = self.post(query, token=token)
        return response.status_code, response.json()["errors"][0]["extensions"]["code"]


def test_serve_apply_token_crud_publish_and_refusals(server: tuple[Trellis, str], tmp_path: Path) -> None:
    trellis, url = server
    trellis.run("tenant", "create", "acme")
    trellis.run("metadata", "apply", str(FIXTURE), "--tenant", "acme", "-m", "crm")
    trellis.run("user", "create", "--tenant", "acme", "ann@example.com", "--role", "admin", "--password", PASSWORD)
    printed = trellis.run("token", "create", "--tenant", "acme", "--user", "ann@example.com")
    token = next(line.strip() for line in printed.splitlines() if line.startswith("  "))
    api = Client(url, token)

    assert "graphiql" in httpx.get(f"{url}/t/acme/graphql", headers={"Accept": "text/html"}).text.lower()
    account = api.data('mutation { createAccount(input: {name: "华为", tier: "战略", regions: ["华东"]}) { id } }')
    account_id = account["createAccount"]["id"]
    created = api.data("""mutation($a: ID!) { createContract(input: {number: "HT-000001", name: "年度服务",
        accountId: $a, status: "生效", startDate: "2026-01-01", endDate: "2026-12-31", amount: "120000.00"})
        { id version amount } }""", {"a": account_id})["createContract"]
    assert created["amount"] == "120000.00" and created["version"] == 1
    page = api.data("""{ contracts(where: {status: {_eq: "生效"}}, orderBy: [{endDate: ASC}], first: 10) {
        totalCount edges { node { number account { name owner { email } } } } } }""")["contracts"]
    assert page["totalCount"] == 1
    assert page["edges"][0]["node"] == {"number": "HT-000001", "account": {"name": "华为",
                                                                          "owner": {"email": "ann@example.com"}}}
    updated = api.data("""mutation($id: ID!) { updateContract(id: $id, expectedVersion: 1, input: {amount: "99.99"})
        { version amount } }""", {"id": created["id"]})["updateContract"]
    assert updated == {"version": 2, "amount": "99.99"}
    conflict = api.post('mutation($id: ID!) { updateContract(id: $id, expectedVersion: 1, input: {amount: "1"}) '
                        '{ id } }', {"id": created["id"]}).json()
    assert conflict["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert api.data('mutation($id: ID!) { deleteContract(id: $id) { id } }', {"id": created["id"]}) == \
        {"deleteContract": {"id": created["id"]}}
    assert api.data("{ contracts { totalCount } }") == {"contracts": {"totalCount": 0}}

    # publish a new field with the CLI while the server runs: the next request sees it
    changed = tmp_path / "crm"
    shutil.copytree(FIXTURE, changed)
    document = json.loads((changed / "objects" / "account.json").read_text(encoding="utf-8"))
    document["properties"]["credit_rating"] = {"type": ["string", "null"], "enum": ["A", "B", "C", None]}
    (changed / "objects" / "account.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert api.code("{ accounts { nodes { creditRating } } }") == (200, "GRAPHQL_VALIDATION_FAILED")
    trellis.run("metadata", "apply", str(changed), "--tenant", "acme", "-m", "credit rating")
    for _ in range(4):  # whichever worker answers
        rated = api.data('mutation($id: ID!) { updateAccount(id: $id, input: {creditRating: A}) { creditRating } }',
                         {"id": account_id})
        assert rated == {"updateAccount": {"creditRating": "A"}}

    # refusals: each with its code, none a 500
    assert api.code("{ contracts { ") == (200, "GRAPHQL_PARSE_FAILED")
    deep = "{ accounts { nodes { contracts { nodes { account { contracts { nodes { account { contracts { nodes " \
           "{ id } } } } } } } } } } }"
    assert api.code(deep) == (200, "GRAPHQL_VALIDATION_FAILED")
    assert api.code("{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }") == (200, "GRAPHQL_VALIDATION_FAILED")
    assert api.code("{ contracts(first: 1000) { totalCount } }") == (200, "BAD_USER_INPUT")
    assert api.code("{ me { id } }", token="trl_wrong") == (401, "UNAUTHENTICATED")
    response = api.http.post("/t/acme/graphql", json={"query": "{ me { id } }"})
    assert response.status_code == 401
    response = api.http.post("/t/acme/graphql", content=b"not json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
