"""Writing through the generated API: every mutation, optimistic locking, validation problems
with API paths, batches with their cap."""

from __future__ import annotations

import pytest

from tests.runtime.graphql.conftest import Api
from tests.runtime.graphql.test_graphql_queries import account, contract

pytestmark = pytest.mark.anyio




async def test_create_update_delete_restore(api: Api) -> None:
    account_id = await account(api, "华为")
    created = (await api.data("""mutation($a: ID!) { createContract(input: {number: "HT-1", accountId: $a,
        amount: "99.90", startDate: "2026-01-01", endDate: "2026-12-31"}) { id version status amount autoRenew: number } }""",
                              {"a": account_id}))["createContract"]
    assert created["version"] == 1 and created["status"] == "草稿" and created["amount"] == "99.90"  # a default
    updated = (await api.data("""mutation($id: ID!) { updateContract(id: $id, expectedVersion: 1,
        input: {status: "生效", amount: 100}) { version status amount } }""", {"id": created["id"]}))["updateContract"]
    assert updated == {"version": 2, "status": "生效", "amount": "100.00"}
    cleared = (await api.data('mutation($id: ID!) { updateContract(id: $id, input: {signedAt: null}) { signedAt } }',
                              {"id": created["id"]}))["updateContract"]
    assert cleared == {"signedAt": None}
    deleted = await api.data('mutation($id: ID!) { deleteContract(id: $id) { id } }', {"id": created["id"]})
    assert deleted == {"deleteContract": {"id": created["id"]}}
    gone = await api.error('query($id: ID!) { contract(id: $id) { id } }', {"id": created["id"]})
    assert gone["extensions"]["code"] == "NOT_FOUND"
    restored = (await api.data('mutation($id: ID!) { restoreContract(id: $id) { number version } }',
                               {"id": created["id"]}))["restoreContract"]
    assert restored["number"] == "HT-1" and restored["version"] == 4


async def test_an_outdated_expected_version_is_a_conflict(api: Api) -> None:
    record = await contract(api, await account(api, "华为"), "HT-1")
    await api.data('mutation($id: ID!) { updateContract(id: $id, input: {amount: "1"}) { id } }', {"id": record})
    error = await api.error('mutation($id: ID!) { updateContract(id: $id, expectedVersion: 1, input: {amount: "2"}) '
                            '{ id } }', {"id": record})
    assert error["extensions"]["code"] == "CONFLICT" and error["path"] == ["updateContract"]
    error = await api.error('mutation($id: ID!) { deleteContract(id: $id, expectedVersion: 1) { id } }', {"id": record})
    assert error["extensions"]["code"] == "CONFLICT"


async def test_every_problem_comes_back_with_its_api_path(api: Api) -> None:
    error = await api.error("""mutation { createContract(input: {number: "HT-1", amount: "-1",
        startDate: "2026-02-01", endDate: "2026-03-01", status: "钻石"}) { id } }""")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    problems = {p["path"]: p["message"] for p in error["extensions"]["problems"]}
    assert problems["input.accountId"] == "is required"  # the lookup `account` is sent as accountId
    assert "at least 0" in problems["input.amount"] and "钻石" in problems["input.status"]
    error = await api.error('mutation { createContract(input: {number: "HT-1", accountId: "nope"}) { id } }')
    assert error["extensions"]["problems"] == [{"path": "input.accountId",
                                                "message": "no account with id 'nope' (or you may not see it)"}]


async def test_a_rule_or_a_wrong_type_names_the_field(api: Api) -> None:
    account_id = await account(api, "华为")
    error = await api.error("""mutation($a: ID!) { createContract(input: {number: "HT-1", accountId: $a,
        startDate: "2026-02-01", endDate: "2026-01-01"}) { id } }""", {"a": account_id})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # a rule of the whole record: the path is the argument; the message in the tenant's locale
    assert error["extensions"]["problems"] == [{"path": "input", "message": "结束日期不能早于开始日期。"}]
    bad_date = await api.error('mutation { createContract(input: {endDate: "31/12/2026"}) { id } }')
    assert bad_date["extensions"]["code"] == "BAD_USER_INPUT" and "YYYY-MM-DD" in bad_date["message"]
    bad_variable = await api.error("mutation($d: Date) { createContract(input: {endDate: $d}) { id } }",
                                   {"d": "31/12/2026"})
    assert bad_variable["extensions"]["code"] == "BAD_USER_INPUT" and "Date" in bad_variable["message"]


async def test_missing_records_are_not_found(api: Api) -> None:
    for mutation in ('updateContract(id: "nope", input: {amount: "1"}) { id }', 'deleteContract(id: "nope") { id }',
                     'restoreContract(id: "nope") { id }'):
        error = await api.error(f"mutation {{ {mutation} }}")
        assert error["extensions"]["code"] == "NOT_FOUND", mutation


async def test_batch_create_is_all_or_nothing(api: Api) -> None:
    account_id = await account(api, "华为")
    created = (await api.data("""mutation($a: ID!) { createContracts(inputs: [{number: "HT-1", accountId: $a},
        {number: "HT-2", accountId: $a}]) { number accountId } }""", {"a": account_id}))["createContracts"]
    assert created == [{"number": "HT-1", "accountId": account_id}, {"number": "HT-2", "accountId": account_id}]
    error = await api.error("""mutation($a: ID!) { createContracts(inputs: [{number: "HT-3", accountId: $a},
        {number: "HT-4", amount: "-5"}]) { number } }""", {"a": account_id})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    paths = {p["path"] for p in error["extensions"]["problems"]}
    assert {"inputs[1].accountId", "inputs[1].amount"} <= paths
    data = await api.data("{ contracts { totalCount } }")
    assert data["contracts"]["totalCount"] == 2


async def test_batch_update_is_all_or_nothing(api: Api) -> None:
    account_id = await account(api, "华为")
    first, second = await contract(api, account_id, "HT-1"), await contract(api, account_id, "HT-2")
    query = "mutation($items: [ContractUpdateItem!]!) { updateContracts(items: $items) { number status version } }"
    data = await api.data(query, {"items": [{"id": second, "input": {"status": "生效"}},
                                            {"id": first, "input": {"status": "已到期"}, "expectedVersion": 1}]})
    assert data["updateContracts"] == [{"number": "HT-2", "status": "生效", "version": 2},
                                       {"number": "HT-1", "status": "已到期", "version": 2}]
    error = await api.error(query, {"items": [{"id": first, "input": {"status": "草稿"}},
                                              {"id": second, "input": {"amount": "-1"}},
                                              {"id": second, "input": {}, "expectedVersion": 1}]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    paths = {p["path"] for p in error["extensions"]["problems"]}
    assert paths == {"items[1].input.amount", "items[2]"}  # items[2]: its expectedVersion is stale
    unchanged = await api.data('query($id: ID!) { contract(id: $id) { status version } }', {"id": first})
    assert unchanged["contract"] == {"status": "已到期", "version": 2}  # the valid item was not written either
    stale = await api.error(query, {"items": [{"id": first, "input": {}, "expectedVersion": 1}]})
    assert stale["extensions"]["code"] == "CONFLICT"
    missing = await api.error(query, {"items": [{"id": "nope", "input": {}}]})
    assert missing["extensions"]["code"] == "NOT_FOUND"
    one = await api.error(query, {"items": [{"id": first, "input": {"amount": "-1"}}]})
    assert one["extensions"]["problems"][0]["path"] == "items[0].input.amount"


async def test_batch_delete_reports_each_item(api: Api) -> None:
    first = await contract(api, await account(api, "华为"), "HT-1")
    body = await api('mutation($a: ID!) { deleteContracts(ids: [$a, "nope"]) { id } }', {"a": first})
    assert body["data"]["deleteContracts"] == [{"id": first}, None]
    assert body["errors"][0]["path"] == ["deleteContracts", 1]
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_batches_are_capped(api: Api) -> None:
    error = await api.error("mutation($ids: [ID!]!) { deleteContracts(ids: $ids) { id } }",
                            {"ids": [f"id-{i}" for i in range(101)]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["path"] == "ids"


async def test_handing_a_record_over_to_another_owner(api: Api) -> None:
    account_id = await account(api, "华为")
    moved = await api.data('mutation($id: ID!, $owner: ID!) { updateAccount(id: $id, input: {ownerId: $owner}) '
                           '{ ownerId owner { email name } } }', {"id": account_id, "owner": api.rep_id})
    assert moved["updateAccount"] == {"ownerId": api.rep_id, "owner": {"email": "rob@example.com", "name": "Rob"}}


async def test_integers_beyond_32_bits_round_trip_as_bigint(api: Api) -> None:
    """`quantity` has no upper bound, so it is a BigInt; `health` (0–100) stays an Int."""
    big = 2**40 + 1
    contract_id = await contract(api, await account(api, "华为"), "HT-BIG")
    created = (await api.data("""mutation($c: ID!, $q: BigInt) { createContractLine(input: {contractId: $c,
        quantity: $q, unitPrice: "1.00"}) { id quantity } }""", {"c": contract_id, "q": big}))["createContractLine"]
    assert created["quantity"] == big  # exact, a JSON number
    by_text = await api.data(f'{{ contractLines(where: {{quantity: {{_gte: "{big}"}}}}) {{ nodes {{ quantity }} }} }}')
    by_number = await api.data(f"{{ contractLines(where: {{quantity: {{_eq: {big}}}}}) {{ nodes {{ id }} }} }}")
    assert by_text["contractLines"]["nodes"] == [{"quantity": big}]
    assert by_number["contractLines"]["nodes"] == [{"id": created["id"]}]
    total = await api.data("{ contractLinesAggregate { sum { quantity } } }")
    assert total["contractLinesAggregate"][0]["sum"]["quantity"] == big
    wrong = await api.error('{ contractLines(where: {quantity: {_eq: "many"}}) { nodes { id } } }')
    assert "BigInt: expected a whole number" in wrong["message"]
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"
