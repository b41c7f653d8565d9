"""One renewal end to end over HTTP, on both databases: the reminder 90 days out and the renewal
opportunity it opens; the rep moves it to quoting, which makes a quote from the contract's lines
with the product's uplift; a 15% discount goes to the manager, who approves it from their inbox;
the customer accepts and the next contract term exists with its lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.renewals.world import TENANT, Renewals
from trellis.platform.tenancy import Installation
from trellis.runtime.expressions.functions import months_later
from trellis.runtime.graphql import SchemaCache
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Client:
    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str]):
        self.http, self.tokens = http, tokens

    async def __call__(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(f"/t/{TENANT}/graphql", json={"query": query, "variables": variables},
                                        headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture
async def world(installation: Installation) -> AsyncIterator[tuple[Renewals, Client]]:
    renewals = Renewals.create(installation)
    users = renewals.services.users(TENANT)
    tokens = {who: users.create_token(f"{who}@acme.test")[1] for who in ("rep", "boss")}
    app = create_app(installation, renewals.services, SchemaCache())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield renewals, Client(http, tokens)


async def test_one_renewal_from_reminder_to_next_term(world: tuple[Renewals, Client]) -> None:
    renewals, api = world
    # the server stamps with the real clock: the story starts tomorrow, so the worker's clock can run ahead of it
    renewals.clock.now = datetime.now(UTC)
    tomorrow = renewals.clock.now.astimezone(SHANGHAI).date() + timedelta(days=1)
    end = tomorrow + timedelta(days=90)
    crm = renewals.product("CRM", "36000.00", uplift="5")
    contract = renewals.contract([(crm, 2, "36000.00", "0")], start=(end - timedelta(days=364)).isoformat(),
                                 end=end.isoformat(), number="HT-9")
    renewals.settle()
    renewals.clock.now = datetime.combine(tomorrow, time(9, 30), SHANGHAI)  # past the 08:00 and 09:00 firings
    renewals.settle()

    inbox = await api("rep", "{ notifications(first: 10) { nodes { title recordId } } }")
    assert any("90 天后到期" in n["title"] and n["recordId"] == contract for n in inbox["notifications"]["nodes"])
    found = await api("rep", "query($c: ID!) { renewalOpportunities(where: {contractId: {_eq: $c}}) "
                             "{ nodes { id stage } } }", c=contract)
    opportunity = found["renewalOpportunities"]["nodes"][0]
    assert opportunity["stage"] == "待跟进"

    await api("rep", 'mutation($id: ID!) { updateRenewalOpportunity(id: $id, input: {stage: "报价中"}) { stage } }',
              id=opportunity["id"])
    renewals.settle()
    quotes = await api("rep", "query($o: ID!) { quotes(where: {opportunityId: {_eq: $o}}) { nodes { id status total "
                              "lines { nodes { id quantity listPrice upliftPct unitPrice lineTotal } } } } }",
                       o=opportunity["id"])
    quote = quotes["quotes"]["nodes"][0]
    line = quote["lines"]["nodes"][0]
    assert (quote["status"], quote["total"], line["unitPrice"], line["lineTotal"]) == ("草稿", "75600.00", "37800.00",
                                                                                      "75600.00")

    await api("rep", 'mutation($id: ID!) { updateQuoteLine(id: $id, input: {discountPct: "15"}) { lineTotal } }',
              id=line["id"])
    submitted = await api("rep", 'mutation($id: ID!) { updateQuote(id: $id, input: {status: "待审批"}) { status total } }',
                          id=quote["id"])
    assert submitted["updateQuote"] == {"status": "待审批", "total": "64260.00"}
    renewals.settle()

    pending = await api("boss", "{ myPendingApprovals { id recordId } }")
    assert [p["recordId"] for p in pending["myPendingApprovals"]] == [quote["id"]]
    await api("boss", 'mutation($id: ID!) { approveRequest(id: $id, comment: "同意") { status } }',
              id=pending["myPendingApprovals"][0]["id"])
    accepted = await api("rep", 'mutation($id: ID!) { updateQuote(id: $id, input: {status: "已接受"}) { status } }',
                         id=quote["id"])
    assert accepted["updateQuote"]["status"] == "已接受"
    renewals.settle()

    terms = await api("rep", "query($c: ID!) { contracts(where: {renewalOfId: {_eq: $c}}) { nodes { number status "
                             "startDate endDate amount lines { nodes { quantity unitPrice discount lineTotal } } } } }",
                      c=contract)
    term = terms["contracts"]["nodes"][0]
    next_end = months_later(end + timedelta(days=1), 12) - timedelta(days=1) if (end + timedelta(days=1)).day == 1 \
        else months_later(end, 12)
    assert (term["number"], term["status"], term["startDate"], term["endDate"], term["amount"]) == (
        "HT-9-R", "生效", (end + timedelta(days=1)).isoformat(), next_end.isoformat(), "64260.00")
    assert term["lines"]["nodes"] == [{"quantity": 2, "unitPrice": "37800.00", "discount": "15.00", "lineTotal": "64260.00"}]
    won = await api("rep", "query($id: ID!) { renewalOpportunity(id: $id) { stage } }", id=opportunity["id"])
    assert won["renewalOpportunity"]["stage"] == "已赢单"
