"""Who may ask what, and what a malformed or abusive request gets: a stable code, never a 500."""

from __future__ import annotations

import pytest

from tests.runtime.graphql.conftest import TENANT, Api
from tests.runtime.graphql.test_graphql_queries import account, contract
from trellis.runtime.graphql.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, cache_info

pytestmark = pytest.mark.anyio


async def test_no_token_or_a_wrong_one_is_401(api: Api) -> None:
    for token in (None, "trl_not-a-token"):
        response = await api.post("{ me { email } }", token=token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await api.client.post(f"/t/{TENANT}/graphql", json={"query": "{ me { email } }"},
                                     headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


async def test_a_revoked_token_is_401(api: Api) -> None:
    users = api.installation.database(TENANT)
    from trellis.runtime.identity import UserService

    service = UserService(users, api.store)
    token_id, secret = service.create_token("rob@example.com")
    assert (await api.post("{ me { email } }", token=secret)).status_code == 200
    service.revoke_token(token_id)
    response = await api.post("{ me { email } }", token=secret)
    assert response.status_code == 401 and "revoked" in response.json()["errors"][0]["message"]


async def test_an_unknown_tenant_is_404(api: Api) -> None:
    response = await api.client.post("/t/nobody/graphql", json={"query": "{ me { email } }"},
                                     headers={"Authorization": f"Bearer {api.admin}"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_hidden_fields_read_as_null_and_cannot_be_filtered_sorted_or_aggregated(api: Api) -> None:
    await contract(api, await account(api, "华为"), "HT-1", amount="10.00")
    data = await api.data("{ contracts { nodes { number amount } } }", token="rep")
    assert data["contracts"]["nodes"] == [{"number": "HT-1", "amount": None}]
    for query, path in (('{ contracts(where: {amount: {_gt: "1"}}) { totalCount } }', "where.amount"),
                        ('{ contracts(orderBy: [{amount: DESC}]) { totalCount } }', "orderBy[0]"),
                        ('{ accounts { nodes { contracts(where: {amount: {_gt: "1"}}) { totalCount } } } }',
                         "where.amount"),
                        ("{ contractsAggregate { count sum { amount } } }", "sum.amount"),
                        ("{ contractsAggregate(groupBy: [{field: amount}]) { count } }", "groupBy[0]")):
        error = await api.error(query, token="rep")
        assert error["extensions"]["code"] == "FORBIDDEN", query
        assert error["extensions"]["problems"][0]["path"] == path, query


async def test_relations_to_objects_the_role_cannot_see_are_null_or_empty(api: Api) -> None:
    account_id = await account(api, "华为")
    await api.data('mutation($a: ID!) { createTicket(input: {subject: "help", accountId: $a}) { id } }',
                   {"a": account_id})
    await contract(api, account_id, "HT-1")
    data = await api.data("{ tickets { nodes { subject accountId account { name } } } }", token="support")
    assert data["tickets"]["nodes"] == [{"subject": "help", "accountId": account_id, "account": None}]
    data = await api.data("{ accounts { nodes { name tickets { totalCount nodes { subject } } contracts "
                          "{ totalCount } } } }", token="rep")
    assert data["accounts"]["nodes"] == [{"name": "华为", "tickets": {"totalCount": 0, "nodes": []},
                                          "contracts": {"totalCount": 1}}]
    data = await api.data("{ accounts { totalCount } contracts { totalCount } }", token="support")
    assert data == {"accounts": {"totalCount": 0}, "contracts": {"totalCount": 0}}


async def test_writes_the_role_does_not_allow_are_forbidden(api: Api) -> None:
    error = await api.error('mutation { createAccount(input: {name: "x"}) { id } }', token="rep")
    assert error["extensions"]["code"] == "FORBIDDEN"
    account_id = await account(api, "华为")
    error = await api.error('mutation($a: ID!) { createContract(input: {number: "HT-9", accountId: $a, amount: "5"}) '
                            '{ id } }', {"a": account_id}, token="rep")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"] == [{"path": "input.amount", "message": "you may not edit this field"}]


async def expect_limit(api: Api, query: str, limit: str) -> None:
    response = await api.post(query)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and error["extensions"]["limit"] == limit, error


async def test_limits_refuse_deep_wide_and_long_queries(api: Api) -> None:
    deep = "{ contracts { nodes { account { contracts { nodes { account { contracts { nodes { account { contracts " \
           "{ nodes { id } } } } } } } } } } } }"
    assert deep.count("{") > MAX_DEPTH
    await expect_limit(api, deep, "depth")
    via_fragment = "{ ...a } fragment a on Query { contracts { nodes { account { contracts { nodes { account { " \
                   "contracts { nodes { account { contracts { nodes { id } } } } } } } } } } } }"
    await expect_limit(api, via_fragment, "depth")
    aliases = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(MAX_ALIASES + 1)) + " }"
    await expect_limit(api, aliases, "aliases")
    long = "{ me { " + "email " * MAX_TOKENS + "} }"
    await expect_limit(api, long, "tokens")
    # the same limits hold for the metadata API
    response = await api.post(deep.replace("contracts", "history").replace("account", "changes"), path="metadata/graphql")
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_introspection_is_not_limited_by_depth(api: Api) -> None:
    from graphql import get_introspection_query

    data = await api.data(get_introspection_query())
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_page_size_is_capped(api: Api) -> None:
    for arguments in ("first: 101", "last: 101", "first: -1"):
        error = await api.error(f"{{ contracts({arguments}) {{ totalCount }} }}")
        assert error["extensions"]["code"] == "BAD_USER_INPUT", arguments
    await account(api, "华为")
    error = await api.error("{ accounts { nodes { contracts(first: 500) { totalCount } } } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("body, status, code", [
    ({"query": "{ contracts { "}, 200, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ nothing }"}, 200, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "{ contracts(first: \"x\") { totalCount } }"}, 200, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query($n: Int) { contracts(first: $n) { totalCount } }", "variables": {"n": "x"}}, 200,
     "BAD_USER_INPUT"),
    ({"query": "{ ...missing }"}, 200, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query A { me { id } }", "operationName": "B"}, 400, "BAD_REQUEST"),
    ({"query": ""}, 400, "BAD_REQUEST"),
    ({"variables": {}}, 400, "BAD_REQUEST"),
    ({"query": "{ me { id } }", "variables": [1]}, 400, "BAD_REQUEST"),
])
async def test_malformed_requests_get_codes_never_500(api: Api, body: dict, status: int, code: str) -> None:
    response = await api.client.post(f"/t/{TENANT}/graphql", json=body, headers={"Authorization": f"Bearer {api.admin}"})
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_a_body_that_is_not_json_is_a_bad_request(api: Api) -> None:
    response = await api.client.post(f"/t/{TENANT}/graphql", content=b"{nope",
                                     headers={"Authorization": f"Bearer {api.admin}",
                                              "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_runs_queries_but_not_mutations(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.admin}"}
    response = await api.client.get(f"/t/{TENANT}/graphql", params={"query": "{ me { email } }"}, headers=headers)
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "ann@example.com"
    response = await api.client.get(f"/t/{TENANT}/graphql", headers=headers,
                                    params={"query": 'mutation { createAccount(input: {name: "x"}) { id } }'})
    assert response.status_code == 405


async def test_a_browser_gets_graphiql_without_a_token(api: Api) -> None:
    response = await api.client.get(f"/t/{TENANT}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    start = await api.client.get("/static/graphiql-init.js")  # its start-up script, served beside it
    assert "Authorization" in start.text  # the headers pane starts with the header to fill in


async def test_parsing_and_validation_are_cached_across_requests(api: Api) -> None:
    query = "{ contracts(first: 3) { totalCount nodes { number } } }"
    api.compare = False  # one answer per request (the compiled path reads the same caches)
    await api.data(query)
    before = cache_info()
    for _ in range(3):
        await api.data(query)
    after = cache_info()
    assert after["parse"].hits - before["parse"].hits == 3  # type: ignore[attr-defined]
    assert after["validate"].hits - before["validate"].hits == 3  # type: ignore[attr-defined]
    assert after["validate"].misses == before["validate"].misses  # type: ignore[attr-defined]


async def test_a_schema_that_cannot_be_built_is_a_logged_500_with_a_graphql_body(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    def broken(registry):  # type: ignore[no-untyped-def]
        raise ValueError("no schema today")

    api.schemas._builder = broken
    response = await api.post("{ me { email } }")
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "no schema today" not in response.text and "no schema today" in caplog.text
