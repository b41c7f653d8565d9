"""No N+1: relations load through per-request DataLoaders, so the statements a page costs do not
grow with the page. Counted on the engine (`before_cursor_execute`)."""

from __future__ import annotations

import pytest

from tests.runtime.graphql.conftest import Api, StatementCounter

pytestmark = pytest.mark.anyio

PAGE = """query($first: Int!) { contracts(first: $first, orderBy: [{endDate: ASC}]) {
    edges { node { number amount account { name tier owner { email } }
                   lines(first: 3) { totalCount nodes { quantity } } } } } }"""


@pytest.fixture
async def sixty(api: Api) -> None:
    """60 contracts, each with its own account; half the accounts handed to the rep; two lines each."""
    accounts = (await api.data("mutation($in: [AccountCreateInput!]!) { createAccounts(inputs: $in) { id } }",
                               {"in": [{"name": f"客户 {i}"} for i in range(60)]}))["createAccounts"]
    items = [{"id": a["id"], "input": {"ownerId": api.rep_id}} for a in accounts[::2]]
    await api.data("mutation($items: [AccountUpdateItem!]!) { updateAccounts(items: $items) { id } }", {"items": items})
    contracts = (await api.data("mutation($in: [ContractCreateInput!]!) { createContracts(inputs: $in) { id } }", {
        "in": [{"number": f"HT-{i:03d}", "accountId": a["id"], "amount": f"{i}.50", "startDate": "2026-01-01",
                "endDate": f"2026-{1 + i % 12:02d}-28"} for i, a in enumerate(accounts)]}))["createContracts"]
    lines = [{"contractId": c["id"], "quantity": q, "unitPrice": "9.99"} for c in contracts for q in (1, 2)]
    for start in range(0, len(lines), 100):  # batches are capped at 100
        await api.data("mutation($in: [ContractLineCreateInput!]!) { createContractLines(inputs: $in) { id } }",
                       {"in": lines[start:start + 100]})


async def statements_for(api: Api, counter: StatementCounter, first: int) -> list[str]:
    counter.statements.clear()
    data = await api.data(PAGE, {"first": first})
    edges = data["contracts"]["edges"]
    assert len(edges) == first
    assert all(e["node"]["account"]["owner"]["email"] in ("ann@example.com", "rob@example.com") for e in edges)
    if first >= 10:  # both owners are on the page
        assert {e["node"]["account"]["owner"]["email"] for e in edges} == {"ann@example.com", "rob@example.com"}
    assert all(e["node"]["lines"]["totalCount"] == 2 for e in edges)
    return list(counter.statements)


async def test_a_page_costs_the_same_statements_whatever_its_size(api: Api, sixty: None,
                                                                  count_statements: StatementCounter) -> None:
    await statements_for(api, count_statements, 5)  # the schema is built and caches are warm
    small = await statements_for(api, count_statements, 10)
    large = await statements_for(api, count_statements, 50)
    assert len(small) == len(large), "\n".join(large)
    # the token with its user, roles and the current release (one statement, which the request
    # then serves); the page (and the accounts its live formula reads); accounts; owners; lines
    # and their totals. Besides these, each transaction adds its BEGIN / SET search_path.
    selects = [s for s in large if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) <= 6, "\n\n".join(selects)
