"""The GraphQL cost limit: a query is refused before execution when the records it may return
(page sizes multiplied through nested connections) are over the installation's limit."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query

from tests.helpers import counting_statements
from tests.runtime.graphql.conftest import TENANT
from tests.security.conftest import Site, SiteFactory
from trellis.platform.settings import DEFAULT_GRAPHQL_MAX_COST
from trellis.runtime.graphql.limits import cache_info

pytestmark = pytest.mark.anyio

#: The attacker's query: 100 accounts × 100 contracts × (their account × 100 contracts) = a million.
FAN_OUT = """{ accounts(first: 100) { nodes { contracts(first: 100) { nodes {
    account { contracts(first: 100) { nodes { id } } } } } } } }"""
FAN_OUT_COST = 100 + 100 * 100 + 100 * 100 * 1 + 100 * 100 * 100
TWO_LEVELS = "{ accounts(first: 100) { nodes { contracts(first: 100) { nodes { number } } } } }"
TWO_LEVELS_COST = 100 + 100 * 100


def refused(body: dict[str, Any], cost: int, limit: int) -> None:
    """`body` is a refusal for cost, before execution (no data at all)."""
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "limit": "cost", "max": limit, "cost": cost}
    assert f"{cost:,} records" in error["message"] and f"at most {limit:,}" in error["message"]


async def accounts_with_contracts(served: Site) -> None:
    for a in range(2):
        body = await served.graphql('mutation($n: String!) { createAccount(input: {name: $n}) { id } }',
                                    {"n": f"客户 {a}"})
        account_id = body["data"]["createAccount"]["id"]
        inputs = [{"number": f"HT-{a}-{c}", "accountId": account_id} for c in range(2)]
        body = await served.graphql("mutation($in: [ContractCreateInput!]!) { createContracts(inputs: $in) { id } }",
                                    {"in": inputs})
        assert "errors" not in body, body


async def test_the_fan_out_query_is_refused_with_its_cost_before_any_record_is_read(site: SiteFactory) -> None:
    async with site() as served:
        await accounts_with_contracts(served)
        engine = served.installation.database(TENANT).engine
        with counting_statements(engine) as baseline:
            assert (await served.graphql("{ __typename }"))["data"] == {"__typename": "Query"}
        with counting_statements(engine) as counter:
            body = await served.graphql(FAN_OUT)
        refused(body, FAN_OUT_COST, DEFAULT_GRAPHQL_MAX_COST)
        # the token and the release were looked up, as for any request; no record table was read
        assert len(counter.statements) == len(baseline.statements), counter.statements
        assert not [s for s in counter.statements if "obj_" in s]


async def test_a_query_at_the_limit_runs_and_one_record_over_it_is_refused(site: SiteFactory) -> None:
    async with site(graphql_max_cost=TWO_LEVELS_COST) as served:
        await accounts_with_contracts(served)
        body = await served.graphql(TWO_LEVELS)
        assert "errors" not in body, body
        assert [len(a["contracts"]["nodes"]) for a in body["data"]["accounts"]["nodes"]] == [2, 2]
    async with site(graphql_max_cost=TWO_LEVELS_COST - 1) as served:
        refused(await served.graphql(TWO_LEVELS), TWO_LEVELS_COST, TWO_LEVELS_COST - 1)


async def test_variables_and_their_defaults_are_counted(site: SiteFactory) -> None:
    query = """query($n: Int!, $m: Int = 100) {
        accounts(first: $n) { nodes { contracts(first: $m) { nodes { number } } } } }"""
    async with site(graphql_max_cost=500) as served:
        assert "errors" not in await served.graphql(query, {"n": 5, "m": 10})
        refused(await served.graphql(query, {"n": 5}), 5 + 5 * 100, 500)  # $m's default
        refused(await served.graphql(query, {"n": 100, "m": 10}), 100 + 100 * 10, 500)
        # no page size: the default page (50) for each connection
        refused(await served.graphql("{ accounts { nodes { contracts { totalCount } } } }"), 50 + 50 * 50, 500)


async def test_fragments_and_inline_fragments_are_counted(site: SiteFactory) -> None:
    query = """{ ...Root }
        fragment Root on Query { accounts(first: 100) { ...Page } }
        fragment Page on AccountConnection { totalCount nodes { ... on Account {
            contracts(first: 100) { edges { cursor node { number } } pageInfo { hasNextPage } } } } }"""
    async with site(graphql_max_cost=TWO_LEVELS_COST - 1) as served:
        refused(await served.graphql(query), TWO_LEVELS_COST, TWO_LEVELS_COST - 1)


async def test_nodes_and_edges_of_one_page_are_the_same_records(site: SiteFactory) -> None:
    query = "{ accounts(first: 10) { nodes { id } edges { node { id owner { email } } } } }"
    async with site(graphql_max_cost=19) as served:  # 10 accounts and one owner each
        refused(await served.graphql(query), 20, 19)


async def test_lookups_count_one_record_each_and_multiply_by_one(site: SiteFactory) -> None:
    query = "{ contracts(first: 10) { nodes { account { owner { email } } } } }"
    async with site(graphql_max_cost=29) as served:
        refused(await served.graphql(query), 10 + 10 + 10, 29)


async def test_aggregates_and_batch_mutations(site: SiteFactory) -> None:
    async with site(graphql_max_cost=99) as served:
        assert "errors" not in await served.graphql("{ contractsAggregate { count } }")  # one row
        grouped = "{ contractsAggregate(groupBy: [{field: status}]) { count } }"
        refused(await served.graphql(grouped), 100, 99)  # like a full page
        batch = """mutation($in: [AccountCreateInput!]!) {
            createAccounts(inputs: $in) { id contracts(first: 10) { totalCount } } }"""
        refused(await served.graphql(batch, {"in": [{"name": f"a{i}"} for i in range(10)]}), 10 + 10 * 10, 99)
        assert (await served.graphql("{ accounts { totalCount } }"))["data"]["accounts"]["totalCount"] == 0
        created = await served.graphql(batch, {"in": [{"name": f"a{i}"} for i in range(3)]})
        assert len(created["data"]["createAccounts"]) == 3


async def test_introspection_is_free(site: SiteFactory) -> None:
    async with site(graphql_max_cost=1) as served:
        body = await served.graphql(get_introspection_query())
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_a_fragment_bomb_is_estimated_in_time_linear_in_the_document(site: SiteFactory) -> None:
    """Each fragment spreads the next one twice: walking every spread would take 2^60 steps (the
    depth and alias limits did, before they too learned to measure each fragment once)."""
    levels = 60
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ me {{ id }} }}"
    async with site() as served:
        refused(await served.graphql(query), 2 ** levels, DEFAULT_GRAPHQL_MAX_COST)


async def test_the_validation_cache_keeps_hitting_whatever_the_variables(site: SiteFactory) -> None:
    query = "query($n: Int!) { accounts(first: $n) { nodes { contracts(first: 100) { nodes { id } } } } }"
    async with site(graphql_max_cost=1_000) as served:
        assert "errors" not in await served.graphql(query, {"n": 1})
        before = cache_info()
        assert "errors" not in await served.graphql(query, {"n": 2})
        refused(await served.graphql(query, {"n": 100}), 100 + 100 * 100, 1_000)
        after = cache_info()
    assert after["validate"].hits - before["validate"].hits == 2  # type: ignore[attr-defined]
    assert after["validate"].misses == before["validate"].misses  # type: ignore[attr-defined]
