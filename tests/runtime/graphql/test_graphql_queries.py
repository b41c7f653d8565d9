"""Reading through the generated API: one record, pages with filters, sorts and cursors, relations
both ways, totals only when asked, and aggregates with date buckets."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.runtime.graphql.conftest import Api

pytestmark = pytest.mark.anyio

CREATE_ACCOUNT = "mutation($input: AccountCreateInput!) { createAccount(input: $input) { id } }"
CREATE_CONTRACT = "mutation($input: ContractCreateInput!) { createContract(input: $input) { id } }"


async def account(api: Api, name: str, **values: Any) -> str:
    data = await api.data(CREATE_ACCOUNT, {"input": {"name": name, **values}})
    return data["createAccount"]["id"]  # type: ignore[no-any-return]


async def contract(api: Api, account_id: str, number: str, **values: Any) -> str:
    data = await api.data(CREATE_CONTRACT, {"input": {"number": number, "accountId": account_id, **values}})
    return data["createContract"]["id"]  # type: ignore[no-any-return]


@pytest.fixture
async def crm(api: Api) -> dict[str, str]:
    """Two accounts; five contracts with Chinese statuses, money and end dates over 2026."""
    ids = {"huawei": await account(api, "华为", tier="战略", tags=["vip", "new"]),
           "acme": await account(api, "Acme", tier="普通")}
    rows = [("HT-1", "huawei", "生效", "1000.10", "2026-01-31"), ("HT-2", "huawei", "生效", "2000.20", "2026-02-28"),
            ("HT-3", "huawei", "草稿", "300.00", "2026-02-15"), ("HT-4", "acme", "生效", "50.05", "2026-05-31"),
            ("HT-5", "acme", "已到期", "5.00", None)]
    for number, owner, status, amount, end in rows:
        values: dict[str, Any] = {"status": status, "amount": amount}
        if end:
            values.update(startDate="2025-06-01", endDate=end)
        ids[number] = await contract(api, ids[owner], number, **values)
    return ids


async def numbers(api: Api, arguments: str, token: str = "admin") -> list[str]:
    data = await api.data(f"{{ contracts({arguments}) {{ edges {{ node {{ number }} }} }} }}", token=token)
    return [e["node"]["number"] for e in data["contracts"]["edges"]]


async def test_one_record_by_id_with_typed_values(api: Api, crm: dict[str, str]) -> None:
    data = await api.data("""query($id: ID!) { contract(id: $id) {
        id number status amount startDate endDate version createdAt createdBy ownerId accountId
        account { name tier tags } owner { email name } } }""", {"id": crm["HT-1"]})
    record = data["contract"]
    assert record["amount"] == "1000.10"  # Decimal as a string: exact money
    assert (record["startDate"], record["endDate"]) == ("2025-06-01", "2026-01-31")
    assert record["createdAt"].endswith("Z") and record["version"] == 1
    assert record["status"] == "生效" and record["accountId"] == crm["huawei"]
    assert record["account"] == {"name": "华为", "tier": "战略", "tags": ["vip", "new"]}  # tags: an enum list
    assert record["owner"] == {"email": "ann@example.com", "name": "Ann"}
    assert record["createdBy"] == record["ownerId"] == api.admin_id


async def test_filters_with_chinese_choices_money_dates_and_logic(api: Api, crm: dict[str, str]) -> None:
    assert await numbers(api, 'where: {status: {_eq: "生效"}}, orderBy: [{number: ASC}]') == ["HT-1", "HT-2", "HT-4"]
    assert await numbers(api, 'where: {status: {_in: ["草稿", "已到期"]}}, orderBy: [{number: ASC}]') == ["HT-3", "HT-5"]
    assert await numbers(api, 'where: {amount: {_gte: "1000.10"}}, orderBy: [{amount: DESC}]') == ["HT-2", "HT-1"]
    assert await numbers(api, 'where: {endDate: {_is_null: true}}') == ["HT-5"]
    assert await numbers(api, 'where: {_or: [{number: {_like: "%-1"}}, {amount: {_lt: 10}}]}, '
                              'orderBy: [{number: DESC}]') == ["HT-5", "HT-1"]
    assert await numbers(api, 'where: {_not: {status: {_eq: "生效"}}, number: {_ilike: "ht-%"}}, '
                              'orderBy: [{number: ASC}]') == ["HT-3", "HT-5"]


async def test_an_unknown_choice_is_bad_user_input_with_its_path(api: Api, crm: dict[str, str]) -> None:
    error = await api.error('{ contracts(where: {status: {_eq: "钻石"}}) { totalCount } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["path"] == "where.status._eq"
    assert "not a choice" in error["extensions"]["problems"][0]["message"]


async def test_filters_through_lookups_and_reverse_relations(api: Api, crm: dict[str, str]) -> None:
    assert await numbers(api, 'where: {account: {tier: {_eq: "战略"}}, status: {_eq: "生效"}}, '
                              'orderBy: [{number: ASC}]') == ["HT-1", "HT-2"]
    # logic inside a lookup's conditions, and the lookup id next to them
    assert await numbers(api, 'where: {account: {_or: [{name: {_eq: "Acme"}}, {tags: {_contains: [vip]}}]}, '
                              f'accountId: {{_neq: "{crm["huawei"]}"}}}}') == ["HT-4", "HT-5"]
    data = await api.data('{ accounts(where: {contracts: {_some: {status: {_eq: "已到期"}}}}) { nodes { name } } }')
    assert data["accounts"]["nodes"] == [{"name": "Acme"}]
    data = await api.data('{ accounts(where: {contracts: {_none: {amount: {_gt: "1000"}}}}) { nodes { name } } }')
    assert data["accounts"]["nodes"] == [{"name": "Acme"}]


async def test_reverse_connections_page_per_parent(api: Api, crm: dict[str, str]) -> None:
    data = await api.data("""{ accounts(orderBy: [{name: ASC}]) { nodes { name
        contracts(first: 2, orderBy: [{number: DESC}]) { totalCount edges { node { number } }
                  pageInfo { hasNextPage hasPreviousPage } } } } }""")
    by_name = {a["name"]: a["contracts"] for a in data["accounts"]["nodes"]}
    assert [e["node"]["number"] for e in by_name["华为"]["edges"]] == ["HT-3", "HT-2"]
    assert by_name["华为"]["totalCount"] == 3 and by_name["华为"]["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["number"] for e in by_name["Acme"]["edges"]] == ["HT-5", "HT-4"]
    assert by_name["Acme"]["totalCount"] == 2 and by_name["Acme"]["pageInfo"]["hasNextPage"] is False
    # the next page of one parent's relation, through its cursor
    end = (await api.data("""query($id: ID!) { account(id: $id) { contracts(first: 2, orderBy: [{number: DESC}]) {
        pageInfo { endCursor } } } }""", {"id": crm["huawei"]}))["account"]["contracts"]["pageInfo"]["endCursor"]
    rest = await api.data("""query($id: ID!, $after: String) { account(id: $id) {
        contracts(first: 2, after: $after, orderBy: [{number: DESC}]) { edges { node { number } }
        pageInfo { hasNextPage hasPreviousPage } } } }""", {"id": crm["huawei"], "after": end})
    page = rest["account"]["contracts"]
    assert [e["node"]["number"] for e in page["edges"]] == ["HT-1"]
    assert page["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True}


async def test_cursors_forward_and_back(api: Api, crm: dict[str, str]) -> None:
    query = """query($first: Int, $after: String, $last: Int, $before: String) {
        contracts(first: $first, after: $after, last: $last, before: $before, orderBy: [{endDate: ASC_NULLS_FIRST}]) {
          edges { cursor node { number } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    seen: list[str] = []
    variables: dict[str, Any] = {"first": 2}
    while True:
        page = (await api.data(query, variables))["contracts"]
        seen += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables = {"first": 2, "after": page["pageInfo"]["endCursor"]}
    assert seen == ["HT-5", "HT-1", "HT-3", "HT-2", "HT-4"]  # blanks first, then by end date
    back = (await api.data(query, {"last": 2, "before": page["pageInfo"]["startCursor"]}))["contracts"]
    assert [e["node"]["number"] for e in back["edges"]] == ["HT-3", "HT-2"]
    assert back["pageInfo"]["hasPreviousPage"] is True and back["pageInfo"]["hasNextPage"] is True
    wrong = await api.error('query($c: String) { contracts(after: $c, orderBy: [{number: ASC}]) { totalCount } }',
                            {"c": page["pageInfo"]["startCursor"]})
    assert wrong["extensions"]["code"] == "BAD_USER_INPUT"  # a cursor of another sort order
    assert wrong["extensions"]["problems"][0]["path"] == "after"


async def test_total_count_is_computed_only_when_selected(api: Api, crm: dict[str, str], count_statements) -> None:
    await api.data("{ contracts(first: 1) { edges { node { number } } } }")
    without = [s for s in count_statements.statements if "count(" in s.lower()]
    data = await api.data("{ contracts(first: 1) { ...total edges { node { number } } } } "
                          "fragment total on ContractConnection { totalCount }")
    assert data["contracts"]["totalCount"] == 5
    assert not without
    assert any("count(" in s.lower() for s in count_statements.statements)


async def test_aggregates_group_by_fields_and_date_buckets(api: Api, crm: dict[str, str]) -> None:
    data = await api.data("""{ contractsAggregate(where: {endDate: {_is_null: false}},
        groupBy: [{field: endDate, bucket: QUARTER}, {field: status}]) {
        group { endDate status } count sum { amount } avg { amount } min { amount } max { amount } } }""")
    groups = {(g["group"]["endDate"], g["group"]["status"]): g for g in data["contractsAggregate"]}
    assert set(groups) == {("2026-01-01", "生效"), ("2026-01-01", "草稿"), ("2026-04-01", "生效")}
    first = groups[("2026-01-01", "生效")]
    assert first["count"] == 2 and first["sum"] == {"amount": "3000.30"}
    assert first["min"] == {"amount": "1000.10"} and first["max"] == {"amount": "2000.20"}
    assert Decimal(first["avg"]["amount"]) == Decimal("1500.15")  # PostgreSQL keeps more digits
    total = await api.data("{ contractsAggregate { count sum { amount } } }")
    assert total["contractsAggregate"] == [{"count": 5, "sum": {"amount": "3355.35"}}]
    by_account = await api.data("{ contractsAggregate(groupBy: [{field: accountId}]) { group { accountId } count } }")
    assert {g["group"]["accountId"]: g["count"] for g in by_account["contractsAggregate"]} == \
        {crm["huawei"]: 3, crm["acme"]: 2}


async def test_a_date_time_bucket_starts_at_local_midnight(api: Api, crm: dict[str, str]) -> None:
    await api.data('mutation($id: ID!) { updateContract(id: $id, input: {signedAt: "2026-03-01T07:30:00+08:00"}) '
                   '{ id } }', {"id": crm["HT-1"]})
    data = await api.data("""{ contractsAggregate(where: {signedAt: {_is_null: false}},
        groupBy: [{field: signedAt, bucket: MONTH}]) { group { signedAt } count } }""")
    # March 2026 in Shanghai begins at 2026-02-28T16:00Z
    assert data["contractsAggregate"] == [{"group": {"signedAt": "2026-02-28T16:00:00Z"}, "count": 1}]


async def test_grouping_twice_by_a_field_is_refused(api: Api, crm: dict[str, str]) -> None:
    error = await api.error("""{ contractsAggregate(groupBy: [{field: endDate, bucket: MONTH},
        {field: endDate, bucket: YEAR}]) { count } }""")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["problems"][0]["path"] == "groupBy[1]"


async def test_a_missing_record_is_not_found(api: Api) -> None:
    error = await api.error('{ contract(id: "nope") { id } }')
    assert error["extensions"]["code"] == "NOT_FOUND" and error["path"] == ["contract"]


async def test_a_lookup_to_a_record_the_caller_cannot_see_is_null(api: Api, crm: dict[str, str]) -> None:
    # the rep role reads accounts and contracts but not tickets: a ticket lookup would be null;
    # here: deleting the account leaves its contracts pointing at a record nobody can see
    await api.data('mutation($id: ID!) { deleteAccount(id: $id) { id } }', {"id": crm["acme"]})
    data = await api.data('query($id: ID!) { contract(id: $id) { accountId account { name } } }', {"id": crm["HT-4"]})
    assert data["contract"] == {"accountId": crm["acme"], "account": None}
