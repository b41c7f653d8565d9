"""explainScore and metric over HTTP on both databases: an admin sees every account, a rep who
reads only their own accounts gets their own numbers and NOT_FOUND for another's explanation."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.runtime.scores.test_score_model_checks import METRIC
from tests.runtime.scores.world import ACCOUNT, MODEL, TICKET, USAGE
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.scores.model import model_named
from trellis.runtime.scores.runner import ScoreRunner
from trellis.runtime.services import TenantServices, write_hooks
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio

ACCOUNTS_METRIC = {"x-label": {"en": "Accounts at risk", "zh-CN": "风险客户"},
                   "definition": {"en": "Accounts in the risk band over all scored accounts.", "zh-CN": "风险客户占比。"},
                   "object": "account", "numerator": {"function": "count", "where": "health_band == '风险'"},
                   "denominator": {"function": "count", "where": "not is_blank(health_band)"}, "format": "percent",
                   "group_by": ["health_band"]}
REP = {"objects": {"account": {"read": "own"}}}
EXPLAIN = "query($id: ID!) { explainScore(object: \"account\", id: $id) { score band factors { name label points " \
          "contribution } changes history { score band } } }"
METRIC_QUERY = "{ metric(name: \"at_risk\") { label definition value numerator denominator " \
               "drillDown(side: \"numerator\", first: 10) { nodes { id } pageInfo { hasNextPage } } } }"


@pytest.fixture
async def client(installation: Installation) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], dict[str, str]]]:
    installation.create_tenant("acme", timezone_name="Asia/Shanghai", locale="en")
    services = TenantServices(installation)
    items: dict[tuple[str, str], Any] = {
        ("object", "account"): ACCOUNT, ("object", "usage"): USAGE, ("object", "ticket"): TICKET,
        ("score_model", "health"): MODEL, ("metric", "p1_share"): METRIC, ("metric", "at_risk"): ACCOUNTS_METRIC,
        ("role", "rep"): REP}
    services.store("acme").publish(MetadataSet(copy.deepcopy(items)), author="test")
    users = services.users("acme")
    rep = users.create_user("rep@acme.test", name="Ray", roles=["rep"])
    users.create_user("admin@acme.test", name="Ada", roles=["admin"])
    tokens = {e: users.create_token(e)[1] for e in ("rep@acme.test", "admin@acme.test")}
    records = services.records("acme")
    ids = {}
    for name, nps, owner in (("Mine", 10, rep.id), ("Theirs", 0, None), ("Also theirs", 0, None)):
        values = {"name": name, "seats": 10, "nps": nps, **({"owner_id": owner} if owner else {})}
        ids[name] = records.create(Actor.system(), "account", values)["id"]
        records.create(Actor.system(), "usage", {"account": ids[name], "used_on": "2026-11-30",
                                                 "active_users": 9 if nps else 1})
    registry = services.registry("acme")
    ScoreRunner(installation.database("acme"), registry, model_named(registry.metadata, "health"), "Asia/Shanghai",
                "en", hooks=write_hooks()).run()
    app = create_app(installation, services, SchemaCache())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http, tokens, ids


async def _post(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = await http.post("/t/acme/graphql", json={"query": query, "variables": variables},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_explain_and_metric_with_permissions(client: tuple[httpx.AsyncClient, dict[str, str], dict[str, str]]) -> None:
    http, tokens, ids = client
    admin, rep = tokens["admin@acme.test"], tokens["rep@acme.test"]
    mine = (await _post(http, rep, EXPLAIN, id=ids["Mine"]))["data"]["explainScore"]
    # usage 0.9 -> 100, p1 none -> 100, csat blank -> neutral 50, nps 10 -> 100: 40 + 20 + 10 + 20 = 90
    assert (mine["score"], mine["band"]) == ("90.00", "健康") or (float(mine["score"]), mine["band"]) == (90, "健康")
    assert [f["name"] for f in mine["factors"]] == ["usage", "p1", "csat", "nps"]
    assert mine["changes"] == [] and len(mine["history"]) == 1
    hidden = await _post(http, rep, EXPLAIN, id=ids["Theirs"])
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    everyone = (await _post(http, admin, METRIC_QUERY))["data"]["metric"]
    # Theirs and Also theirs: usage 0.1 -> 0, p1 100, csat 50, nps 0 -> 0 + 20 + 10 + 0 = 30, 风险
    assert (everyone["numerator"], everyone["denominator"]) in (("2", "3"), (2, 3))
    assert len(everyone["drillDown"]["nodes"]) == 2 and everyone["definition"].startswith("Accounts in the risk band")
    own = (await _post(http, rep, METRIC_QUERY))["data"]["metric"]
    assert float(own["numerator"]) == 0 and float(own["denominator"]) == 1 and own["drillDown"]["nodes"] == []
