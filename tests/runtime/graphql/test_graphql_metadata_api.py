"""The metadata API (`/t/<tenant>/metadata/graphql`): admins read releases and drafts, validate
and plan a change, publish it, browse history and diffs; nobody else gets in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.crm import OBJECTS
from tests.runtime.graphql.conftest import Api

pytestmark = pytest.mark.anyio


async def meta(api: Api, query: str, variables: dict[str, Any] | None = None, token: str = "admin") -> dict[str, Any]:
    response = await api.post(query, variables, token, path="metadata/graphql")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]  # type: ignore[no-any-return]


async def test_only_admins_get_in(api: Api) -> None:
    response = await api.post("{ currentRelease { number } }", token="rep", path="metadata/graphql")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    response = await api.post("{ currentRelease { number } }", token=None, path="metadata/graphql")
    assert response.status_code == 401


async def test_the_current_release_and_its_items(api: Api) -> None:
    data = await meta(api, "{ currentRelease { number author items { kind name document } } }")
    release = data["currentRelease"]
    assert release["number"] == 1 and release["author"] == "test"
    items = {(i["kind"], i["name"]): i["document"] for i in release["items"]}
    assert items[("object", "contract")]["properties"]["status"]["enum"] == ["草稿", "生效", "已到期"]
    assert ("role", "rep") in items


async def test_validating_a_draft_reports_file_path_and_message(api: Api) -> None:
    broken = {**OBJECTS["contract"], "properties": {**OBJECTS["contract"]["properties"],
                                                    "amount": {"type": "number", "x-kind": "money"}}}
    data = await meta(api, """mutation($doc: JSON) { saveDraft(kind: "object", name: "contract", document: $doc)
        { kind name } }""", {"doc": broken})
    assert data["saveDraft"] == {"kind": "object", "name": "contract"}
    drafts = (await meta(api, "{ drafts { kind name document } }"))["drafts"]
    assert [(d["kind"], d["name"]) for d in drafts] == [("object", "contract")]
    result = (await meta(api, "{ validate { valid errors { file path message } } }"))["validate"]
    assert result["valid"] is False
    (error,) = [e for e in result["errors"] if "x-kind" in e["path"]]
    assert error["file"] == "objects/contract.json" and error["path"].startswith("$.properties.amount")
    response = await api.post('mutation { publish(message: "broken") { number } }', path="metadata/graphql")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["problems"][0]["file"] == "objects/contract.json"
    assert (await meta(api, "mutation { discardDrafts }"))["discardDrafts"] is True
    assert (await meta(api, "{ drafts { name } }"))["drafts"] == []


async def test_a_document_that_is_not_a_json_object_is_bad_input(api: Api) -> None:
    for query, variables, path in [
        ('mutation($doc: JSON) { saveDraft(kind: "object", name: "ticket", document: $doc) { name } }',
         {"doc": "not an object"}, "document"),
        ('query($doc: JSON) { validate(items: [{kind: "object", name: "ticket", document: $doc}]) { valid } }',
         {"doc": [1, 2]}, "items[0].document"),
        ('query($doc: JSON) { plan(items: [{kind: "object", name: "ticket", document: $doc}]) { valid } }',
         {"doc": 3}, "items[0].document"),
    ]:
        body = (await api.post(query, variables, path="metadata/graphql")).json()
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"]["problems"][0]["path"] == path
    assert (await meta(api, "{ drafts { name } }"))["drafts"] == []


async def test_plan_publish_history_and_diff(api: Api) -> None:
    with_note = {**OBJECTS["ticket"], "properties": {**OBJECTS["ticket"]["properties"], "note": {"type": "string"}}}
    plan = (await meta(api, """query($doc: JSON) { plan(items: [{kind: "object", name: "ticket", document: $doc}]) {
        base valid destructive changes { kind name change fieldsAdded } steps { object text destructive } } }""",
                       {"doc": with_note}))["plan"]
    assert plan["base"] == 1 and plan["valid"] is True and plan["destructive"] is False
    assert plan["changes"] == [{"kind": "object", "name": "ticket", "change": "changed", "fieldsAdded": ["note"]}]
    assert [s["object"] for s in plan["steps"]] == ["ticket"] and "note" in plan["steps"][0]["text"]
    assert (await meta(api, "{ drafts { name } }"))["drafts"] == []  # planning saved nothing
    await meta(api, 'mutation($doc: JSON) { saveDraft(kind: "object", name: "ticket", document: $doc) { name } }',
               {"doc": with_note})
    published = (await meta(api, 'mutation { publish(message: "ticket notes") { number author message changes '
                                 '{ name fieldsAdded } } }'))["publish"]
    assert published == {"number": 2, "author": "ann@example.com", "message": "ticket notes",
                         "changes": [{"name": "ticket", "fieldsAdded": ["note"]}]}
    # the data API serves the new field on its next request
    data = await api.data('mutation { createTicket(input: {subject: "x", note: "hello"}) { note } }')
    assert data["createTicket"] == {"note": "hello"}
    history = (await meta(api, "{ history { number message } }"))["history"]
    assert [h["number"] for h in history] == [2, 1]
    diff = (await meta(api, "{ diff(from: 1, to: 2) { kind name fieldsAdded } }"))["diff"]
    assert diff == [{"kind": "object", "name": "ticket", "fieldsAdded": ["note"]}]
    missing = await api.post("{ release(number: 9) { number } }", path="metadata/graphql")
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_destructive_plan_is_flagged_and_refused_unless_allowed(api: Api) -> None:
    without_subject = {**OBJECTS["ticket"], "properties": {k: v for k, v in OBJECTS["ticket"]["properties"].items()
                                                           if k != "subject"}}
    await meta(api, 'mutation($doc: JSON) { saveDraft(kind: "object", name: "ticket", document: $doc) { name } }',
               {"doc": without_subject})
    plan = (await meta(api, "{ plan { destructive steps { destructive } } }"))["plan"]
    assert plan["destructive"] is True and any(s["destructive"] for s in plan["steps"])
    refused = await api.post('mutation { publish(message: "drop") { number } }', path="metadata/graphql")
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    done = await meta(api, 'mutation { publish(message: "drop", allowDestructive: true) { number } }')
    assert done["publish"]["number"] == 2


async def test_admins_offboard_a_user_and_the_token_stops_at_the_next_request(api: Api) -> None:
    listed = (await meta(api, "{ users { email active hasPassword roles } }"))["users"]
    assert [(u["email"], u["roles"]) for u in listed] == [
        ("ann@example.com", ["admin"]), ("rob@example.com", ["rep"]), ("sue@example.com", ["support"])]
    tokens = (await meta(api, '{ userTokens(email: "rob@example.com") { id prefix state } }'))["userTokens"]
    assert [t["state"] for t in tokens] == ["active"] and api.rep.startswith(tokens[0]["prefix"])
    assert (await api.post("{ me { email } }", token="rep")).status_code == 200

    done = (await meta(api, 'mutation { deactivateUser(email: "rob@example.com") { active } }'))["deactivateUser"]
    assert done == {"active": False}
    response = await api.post("{ me { email } }", token="rep")
    assert response.status_code == 401 and "deactivated" in response.json()["errors"][0]["message"]
    states = (await meta(api, '{ userTokens(email: "rob@example.com") { state } }'))["userTokens"]
    assert states == [{"state": "revoked"}]

    await meta(api, 'mutation { reactivateUser(email: "rob@example.com") { active } }')
    assert (await api.post("{ me { email } }", token="rep")).status_code == 401  # its tokens stay revoked
    roles = (await meta(api, 'mutation { removeRole(email: "rob@example.com", role: "rep") { roles } }'))
    assert roles == {"removeRole": {"roles": []}}
    reset = await meta(api, 'mutation { resetPassword(email: "rob@example.com", password: "n3w-passphrase") '
                            '{ hasPassword } }')
    assert reset == {"resetPassword": {"hasPassword": True}}


async def test_user_administration_refuses_bad_input_and_non_admins(api: Api) -> None:
    response = await api.post('mutation { deactivateUser(email: "nobody@example.com") { active } }',
                              path="metadata/graphql")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [{"path": "email", "message":
                                                "no user with email 'nobody@example.com'; "
                                                "create one with `trellis user create`"}]
    response = await api.post('mutation { resetPassword(email: "rob@example.com", password: "short") { id } }',
                              path="metadata/graphql")
    assert "at least 8 characters" in response.json()["errors"][0]["extensions"]["problems"][0]["message"]
    response = await api.post('mutation { deactivateUser(email: "ann@example.com") { active } }', token="rep",
                              path="metadata/graphql")
    assert response.status_code == 403


async def test_admins_set_and_clear_managers_and_cycles_are_refused(api: Api) -> None:
    set_ = 'mutation($e: String!, $m: String) { setManager(email: $e, manager: $m) { email managerId } }'
    listed = {u["email"]: u["id"] for u in (await meta(api, "{ users { id email } }"))["users"]}
    rob = (await meta(api, set_, {"e": "rob@example.com", "m": "ann@example.com"}))["setManager"]
    assert rob == {"email": "rob@example.com", "managerId": listed["ann@example.com"]}
    await meta(api, set_, {"e": "ann@example.com", "m": "sue@example.com"})
    response = await api.post(set_, {"e": "sue@example.com", "m": "rob@example.com"}, path="metadata/graphql")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["problems"][0]["path"] == "manager"
    cleared = (await meta(api, set_, {"e": "rob@example.com", "m": None}))["setManager"]
    assert cleared["managerId"] is None
    response = await api.post(set_, {"e": "rob@example.com", "m": "ann@example.com"}, token="rep",
                              path="metadata/graphql")
    assert response.status_code == 403
