"""Approvals over HTTP, end to end on both databases: a rep submits a contract with a big
discount, the manager approves, the VP rejects with a comment; the history shows each step and
the record is unlocked with on_rejected applied. Errors keep their codes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.runtime.approvals.world import CONTRACT, DISCOUNT, FINANCE_ROLE, MANAGER_ROLE, PEOPLE, REP_ROLE
from tests.runtime.automation.world import ACCOUNT
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.graphql import SchemaCache
from trellis.runtime.services import TenantServices
from trellis.server.app import create_app

pytestmark = pytest.mark.anyio

REQUEST = "id status step release recordId submittedBy tasks { stepName approverId status comment } " \
          "events { event step actorId detail }"


@dataclass
class Desk:
    client: httpx.AsyncClient
    tokens: dict[str, str]
    ids: dict[str, str]

    async def __call__(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post("/t/acme/graphql", json={"query": query, "variables": variables},
                                          headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def data(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        body = await self(who, query, **variables)
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def code(self, who: str, query: str, **variables: Any) -> str:
        body = await self(who, query, **variables)
        assert len(body.get("errors", ())) == 1, body
        return body["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


@pytest.fixture
async def desk(installation: Installation) -> AsyncIterator[Desk]:
    installation.create_tenant("acme")
    services = TenantServices(installation)
    process = copy.deepcopy(DISCOUNT)
    items: dict[tuple[str, str], Any] = {
        ("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT, ("role", "rep"): REP_ROLE,
        ("role", "manager"): MANAGER_ROLE, ("role", "finance"): FINANCE_ROLE, ("approval_process", "discount"): process}
    services.store("acme").publish(MetadataSet(copy.deepcopy(items)), author="test")
    users = services.users("acme")
    tokens, ids = {}, {}
    for email, (name, role, _) in PEOPLE.items():
        ids[email] = users.create_user(email, name=name, roles=[role]).id
        tokens[email] = users.create_token(email)[1]
    for email, (_, _, manager) in PEOPLE.items():
        if manager:
            users.set_manager(email, manager)
    app = create_app(installation, services, SchemaCache())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Desk(client, tokens, ids)


SUBMIT = f"mutation($id: ID!) {{ submitForApproval(object: \"contract\", id: $id, process: \"discount\", " \
         f"comment: \"please\") {{ {REQUEST} }} }}"
APPROVE = f"mutation($id: ID!, $c: String) {{ approveRequest(id: $id, comment: $c) {{ {REQUEST} }} }}"
REJECT = f"mutation($id: ID!, $c: String) {{ rejectRequest(id: $id, comment: $c) {{ {REQUEST} }} }}"
SIMULATE = "query($id: ID, $values: String) { simulateApproval(object: \"contract\", id: $id, values: $values) " \
           "{ entryConditionMet steps { name runs approvers { email } } } }"
UPDATE = "mutation($id: ID!) { updateContract(id: $id, input: {note: \"edited\"}) { note } }"


async def test_submit_approve_reject_over_http(desk: Desk) -> None:
    rep, boss, vp = "rep@acme.test", "boss@acme.test", "vp@acme.test"
    created = await desk.data(rep, 'mutation { createContract(input: {name: "Big deal", discount: 30, amount: 5000})'
                                   " { id status } }")
    record = created["createContract"]["id"]
    simulated = (await desk.data(rep, SIMULATE, id=record, values=None))["simulateApproval"]
    assert simulated["entryConditionMet"] and simulated["steps"] == [
        {"name": "manager", "runs": True, "approvers": [{"email": "boss@acme.test"}]},
        {"name": "vp", "runs": True, "approvers": [{"email": "vp@acme.test"}]}]
    lower = (await desk.data(rep, SIMULATE, id=record, values='{"discount": 15}'))["simulateApproval"]
    assert [step["runs"] for step in lower["steps"]] == [True, False]
    assert await desk.code(rep, SIMULATE, id=record, values="[1]") == "BAD_USER_INPUT"
    request = (await desk.data(rep, SUBMIT, id=record))["submitForApproval"]
    assert (request["status"], request["step"]) == ("pending", 0)
    assert await desk.code(rep, UPDATE, id=record) == "BAD_USER_INPUT"  # locked while pending
    pending = await desk.data(boss, "{ myPendingApprovals { id } }")
    assert pending["myPendingApprovals"] == [{"id": request["id"]}]
    assert await desk.code(vp, APPROVE, id=request["id"]) == "FORBIDDEN"  # not yet the VP's step
    approved = (await desk.data(boss, APPROVE, id=request["id"], c="ok"))["approveRequest"]
    assert approved["step"] == 1
    assert await desk.code(boss, APPROVE, id=request["id"]) == "FORBIDDEN"
    assert await desk.code(vp, REJECT, id=request["id"]) == "BAD_USER_INPUT"  # a rejection needs a comment
    rejected = (await desk.data(vp, REJECT, id=request["id"], c="margin too thin"))["rejectRequest"]
    assert rejected["status"] == "rejected"
    assert await desk.code(vp, APPROVE, id=request["id"]) == "CONFLICT"
    history = (await desk.data(rep, f"query($id: ID!) {{ approvalRequest(id: $id) {{ {REQUEST} }} }}",
                               id=request["id"]))["approvalRequest"]
    assert [(e["event"], e["step"]) for e in history["events"]] == [
        ("submitted", None), ("step_started", 0), ("approved", 0), ("step_approved", 0), ("step_started", 1),
        ("rejected", 1), ("rejected", None)]
    assert [(t["stepName"], t["status"], t["comment"]) for t in history["tasks"]] == [
        ("manager", "approved", "ok"), ("vp", "rejected", "margin too thin")]
    after = await desk.data(rep, "query($id: ID!) { contract(id: $id) { status discount } }", id=record)
    assert after["contract"]["status"] == "rejected" and float(after["contract"]["discount"]) == 0
    assert (await desk.data(rep, UPDATE, id=record))["updateContract"]["note"] == "edited"  # unlocked
    listed = await desk.data(rep, '{ approvalRequests(status: "rejected") { nodes { id } pageInfo { hasNextPage } } }')
    assert listed["approvalRequests"] == {"nodes": [{"id": request["id"]}], "pageInfo": {"hasNextPage": False}}
    assert await desk.code(rep, 'mutation { approveRequest(id: "nope") { id } }') == "NOT_FOUND"


async def test_each_record_lists_its_approval_requests_in_one_query_per_page(desk: Desk,
                                                                             installation: Installation) -> None:
    rep, boss = "rep@acme.test", "boss@acme.test"
    made = [(await desk.data(rep, f'mutation {{ createContract(input: {{name: "Deal {i}", discount: 30, amount: 5000}})'
                                  " { id } }"))["createContract"]["id"] for i in range(3)]
    first = (await desk.data(rep, SUBMIT, id=made[0]))["submitForApproval"]["id"]
    await desk.data(rep, "mutation($id: ID!) { recallRequest(id: $id) { id } }", id=first)
    second = (await desk.data(rep, SUBMIT, id=made[0]))["submitForApproval"]["id"]
    third = (await desk.data(rep, SUBMIT, id=made[1]))["submitForApproval"]["id"]
    await desk.data(boss, APPROVE, id=third, c="ok")
    asked: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "FROM approval_requests" in statement:
            asked.append(statement)

    engine = installation.database("acme").engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = await desk.data(rep, "{ contracts(orderBy: [{name: ASC}]) { nodes { name approvalRequests { id status step } "
                                    "pending: approvalRequests(status: \"pending\") { id } } } }")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(asked) == 4  # two per field of the page (its ids, then the requests), not per record
    by_name = {n["name"]: n for n in page["contracts"]["nodes"]}
    assert [r["id"] for r in by_name["Deal 0"]["approvalRequests"]] == [second, first]  # newest first
    assert [r["status"] for r in by_name["Deal 0"]["approvalRequests"]] == ["pending", "recalled"]
    assert by_name["Deal 0"]["pending"] == [{"id": second}]
    assert by_name["Deal 1"]["approvalRequests"] == [{"id": third, "status": "pending", "step": 1}]
    assert by_name["Deal 2"]["approvalRequests"] == [] and by_name["Deal 2"]["pending"] == []
    assert await desk.code(rep, '{ contracts { nodes { approvalRequests(status: "maybe") { id } } } }') \
        == "BAD_USER_INPUT"


DELEGATE = "mutation($d: String!, $from: DateTime!, $to: DateTime!, $user: String) { delegateApprovals(" \
           "delegate: $d, from: $from, to: $to, user: $user) { userId delegateId startsAt endsAt object } }"


async def test_a_manager_away_delegates_and_the_next_step_asks_the_delegate(desk: Desk) -> None:
    rep, boss, vp = "rep@acme.test", "boss@acme.test", "vp@acme.test"
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(days=7)).isoformat()}
    made = (await desk.data(boss, DELEGATE, d=vp, **window))["delegateApprovals"]
    assert (made["userId"], made["delegateId"], made["object"]) == (desk.ids[boss], desk.ids[vp], None)
    assert [d["delegateId"] for d in (await desk.data(boss, "{ myDelegations { delegateId } }"))["myDelegations"]] \
        == [desk.ids[vp]]
    record = (await desk.data(rep, 'mutation { createContract(input: {name: "Away", discount: 30, amount: 5000})'
                                   " { id } }"))["createContract"]["id"]
    request = (await desk.data(rep, SUBMIT, id=record))["submitForApproval"]
    assert [(t["stepName"], t["approverId"]) for t in request["tasks"]] == [("manager", desk.ids[vp])]
    assert await desk.code(rep, DELEGATE, d=vp, user=boss, **window) == "FORBIDDEN"  # only admins for others
    backwards = {"from": window["to"], "to": window["from"]}
    assert await desk.code(boss, DELEGATE, d=vp, **backwards) == "BAD_USER_INPUT"
    assert await desk.code(boss, DELEGATE, d="nobody@acme.test", **window) == "BAD_USER_INPUT"
