"""The compiled read path against graphql-core: a generated corpus of read queries over the CRM
fixture, each sent by an admin, a rep (who may not read a contract's amount) and a support user
(who may not read accounts), must get the same JSON from both paths (the `api` fixture sends
every read query to both and compares; see conftest.py). Plus: plans are never reused across
releases, and the shapes the compiler does not know are answered by graphql-core.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, get_named_type, is_leaf_type
from graphql.execution.values import VariableValues
from sqlalchemy import event

from tests.helpers import counting_statements
from tests.runtime.graphql.conftest import TENANT, Api
from tests.runtime.graphql.test_graphql_lifecycle import with_field
from trellis.runtime.access import Actor
from trellis.runtime.graphql import RequestContext
from trellis.runtime.graphql.compiled.plan import Fallback, Plan
from trellis.runtime.graphql.compiled.run import Run
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio

CREATE = {name: f"mutation($input: {kind}CreateInput!) {{ create{kind}(input: $input) {{ id }} }}"
          for name, kind in (("account", "Account"), ("contract", "Contract"), ("line", "ContractLine"),
                             ("ticket", "Ticket"))}
WHERE = {
    "contracts": ["{status: {_eq: \"生效\"}}", "{amount: {_gte: \"100\"}}", "{endDate: {_lt: \"2026-03-01\"}}",
                  "{account: {tier: {_eq: \"战略\"}}}", "{_or: [{number: {_eq: \"HT-1\"}}, {status: {_eq: \"草稿\"}}]}",
                  "{number: {_in: [\"HT-2\", \"HT-4\"]}}", "{signedAt: {_is_null: false}}"],
    "accounts": ["{tier: {_eq: \"普通\"}}", "{health: {_gt: 50}}", "{tags: {_contains: [\"vip\"]}}",
                 "{contracts: {_some: {status: {_eq: \"生效\"}}}}"],
    "contractLines": ["{quantity: {_gte: 2}}", "{contract: {number: {_eq: \"HT-1\"}}}"],
    "tickets": ["{status: {_eq: open}}", "{account: {name: {_eq: \"Acme\"}}}"],
}
ORDER = {"contracts": ["{endDate: ASC}", "{number: DESC}", "{amount: DESC_NULLS_LAST}", "{status: ASC}"],
         "accounts": ["{name: ASC}", "{health: DESC}"], "contractLines": ["{quantity: DESC}"],
         "tickets": ["{openedOn: ASC}", "{subject: ASC}"]}
ROOT_TYPES = {"contracts": "Contract", "accounts": "Account", "contractLines": "ContractLine", "tickets": "Ticket"}


async def _create(api: Api, what: str, **values: Any) -> str:
    data = await api.data(CREATE[what], {"input": values})
    return next(iter(data.values()))["id"]  # type: ignore[no-any-return]


@pytest.fixture
async def records(api: Api) -> dict[str, str]:
    """Accounts, contracts with every kind of value (and blanks), lines and tickets."""
    ids = {"huawei": await _create(api, "account", name="华为", tier="战略", tags=["vip", "new"], health=80,
                                   email="it@huawei.example"),
           "acme": await _create(api, "account", name="Acme", tier="普通", health=20),
           "empty": await _create(api, "account", name="Empty")}
    rows = [("HT-1", "huawei", "生效", "1000.10", "2026-01-31", "2026-01-02T03:04:05Z"),
            ("HT-2", "huawei", "生效", "2000.20", "2026-02-28", None),
            ("HT-3", "huawei", "草稿", "300.00", "2026-02-15", "2025-12-31T23:59:59+08:00"),
            ("HT-4", "acme", "生效", "50.05", "2026-05-31", None), ("HT-5", "acme", "已到期", None, None, None)]
    for number, account, status, amount, end, signed in rows:
        values: dict[str, Any] = {"number": number, "accountId": ids[account], "status": status, "amount": amount}
        if end:
            values.update(startDate="2025-06-01", endDate=end)
        if signed:
            values["signedAt"] = signed
        ids[number] = await _create(api, "contract", **values)
    for contract, quantity, price in (("HT-1", 2, "10.50"), ("HT-1", 1, None), ("HT-4", 3, "7")):
        await _create(api, "line", contractId=ids[contract], quantity=quantity, unitPrice=price)
    for subject, account, status in (("宕机", "huawei", "open"), ("Invoice", "acme", "closed"), ("Orphan", None, "open")):
        await _create(api, "ticket", subject=subject, accountId=ids[account] if account else None, status=status,
                      openedOn="2026-02-01")
    return ids


class Corpus:
    """Random read queries over the schema: scalars, lookups, owners, `__typename`, aliases,
    inline and named fragments, `@skip`/`@include` on variables, page arguments as literals and
    as variables (with defaults), and fields merged under one response key."""

    def __init__(self, schema: GraphQLSchema, seed: int):
        self.schema = schema
        self.random = random.Random(seed)
        self.fragments: list[str] = []
        self.variables: dict[str, tuple[str, Any]] = {}  # name -> (type with default, value sent or None)
        self.roots = 1
        self.named = 0  # fragments named so far

    def _variable(self, kind: str, value: Any, default: str | None = None) -> str:
        name = f"v{len(self.variables)}"
        declared = f"{kind} = {default}" if default is not None else kind
        self.variables[name] = (declared, value)
        return f"${name}"

    def _directive(self) -> str:
        roll = self.random.random()
        if roll < 0.75:
            return ""
        which = self.random.choice(["skip", "include"])
        if roll < 0.85:
            return f" @{which}(if: {self.random.choice(['true', 'false'])})"
        sent = self.random.choice([True, False, None])
        return f" @{which}(if: {self._variable('Boolean!' if sent is not None else 'Boolean!', sent, None if sent is not None else 'true')})"

    def selection(self, kind: GraphQLObjectType, depth: int) -> str:
        parts: list[str] = []
        leaves = [n for n, f in kind.fields.items() if is_leaf_type(get_named_type(f.type)) and not f.args]
        objects = [n for n, f in kind.fields.items() if isinstance(get_named_type(f.type), GraphQLObjectType)
                   and not f.args and not isinstance(f.type, GraphQLList)
                   and not (isinstance(f.type, GraphQLNonNull) and isinstance(f.type.of_type, GraphQLList))]
        for name in self.random.sample(leaves, k=min(len(leaves), self.random.randint(1, 6))):
            alias = f"a{self.random.randint(0, 99)}_{name}: " if self.random.random() < 0.2 else ""
            parts.append(f"{alias}{name}{self._directive()}")
        if self.random.random() < 0.3:
            parts.append("__typename")
        if depth > 0:
            for name in self.random.sample(objects, k=min(len(objects), self.random.randint(0, 2))):
                target = get_named_type(kind.fields[name].type)
                assert isinstance(target, GraphQLObjectType)
                parts.append(f"{name}{self._directive()} {{ {self.selection(target, depth - 1)} }}")
        roll = self.random.random()
        if roll < 0.15:
            parts.append(f"... on {kind.name} {{ {self.selection(kind, 0)} }}")
        elif roll < 0.3:
            self.named += 1
            name = f"F{self.named}"
            self.fragments.append(f"fragment {name} on {kind.name} {{ {self.selection(kind, max(depth - 1, 0))} }}")
            parts.append(f"...{name}{self._directive()}")
        elif roll < 0.4 and leaves:  # the same key twice: graphql-core merges them
            parts.append(self.random.choice(leaves))
        return " ".join(parts)

    def _arguments(self, root: str) -> str:
        out = []
        if self.random.random() < 0.5:
            size = self.random.choice([0, 1, 2, 3, 50])
            out.append(f"first: {size}" if self.random.random() < 0.5 else
                       f"first: {self._variable('Int', size if self.random.random() < 0.7 else None, str(size))}")
        elif self.random.random() < 0.1:
            out.append("last: 2")
        if self.random.random() < 0.5:
            out.append(f"where: {self.random.choice(WHERE[root])}")
        if self.random.random() < 0.5:
            out.append(f"orderBy: [{self.random.choice(ORDER[root])}]")
        return f"({', '.join(out)})" if out else ""

    def query(self, ids: dict[str, str]) -> tuple[str, dict[str, Any]]:
        self.fragments, self.variables = [], {}
        roots = []
        self.roots = self.random.choice([1, 1, 1, 2])
        for i in range(self.roots):
            alias = f"r{i}: " if i else ""
            if self.random.random() < 0.25:
                record_id = self.random.choice([ids["HT-1"], ids["HT-5"], ids["huawei"]])
                field, kind = ("account", "Account") if record_id == ids["huawei"] else ("contract", "Contract")
                roots.append(f"{alias}{field}(id: {self._variable('ID!', record_id)}) "
                             f"{{ {self.selection(self._type(kind), 2)} }}")
                continue
            root = self.random.choice(list(ROOT_TYPES))
            inner = []
            node = self.selection(self._type(ROOT_TYPES[root]), 2)
            if self.random.random() < 0.6:
                inner.append(f"nodes {{ {node} }}")
            if self.random.random() < 0.5 or not inner:
                cursor = " cursor" if self.random.random() < 0.5 else ""
                inner.append(f"edges {{{cursor} node {{ {node} }} }}")
            if self.random.random() < 0.4:
                inner.append("pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }")
            if self.random.random() < 0.3:
                inner.append(f"totalCount{self._directive()}")
            if self.random.random() < 0.2:
                inner.append("__typename")
            roots.append(f"{alias}{root}{self._arguments(root)} {{ {' '.join(inner)} }}")
        if self.random.random() < 0.1:
            roots.append("__typename")
        declared = ", ".join(f"${n}: {t}" for n, (t, _) in self.variables.items())
        head = f"query Q({declared})" if declared else "query Q"
        sent = {n: v for n, (_, v) in self.variables.items() if v is not None}
        return " ".join([f"{head} {{ {' '.join(roots)} }}", *self.fragments]), sent

    def _type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found


def _schema(api: Api) -> GraphQLSchema:
    registry = TenantServices(api.installation).records(TENANT).registry
    return api.schemas.get(registry)._schema


async def test_a_generated_corpus_answers_the_same_on_both_paths(api: Api, records: dict[str, str]) -> None:
    corpus = Corpus(_schema(api), seed=17)
    before = api.reads.stats["compiled"] if api.reads else 0
    compared = api.compared
    sent = 0
    for _ in range(80):
        query, variables = corpus.query(records)
        # graphql-core runs root fields concurrently: when two fail, which error nulls `data`
        # first is a race even between two of its own runs, so those are asked by the admin only
        for token in ("admin",) if corpus.roots > 1 else ("admin", "rep", "support"):
            await api.post(query, variables, token=token)
            sent += 1
    assert api.compared - compared == sent
    assert api.reads is not None and api.reads.stats["compiled"] - before >= 90, api.reads.stats


@pytest.mark.parametrize("query", [
    "{ contracts(first: 2) { nodes { number } } }",
    "query($s: Boolean!) { contracts { nodes { number amount @skip(if: $s) } } }",
])
async def test_hidden_fields_and_directives_are_compiled(api: Api, records: dict[str, str], query: str) -> None:
    assert api.reads is not None
    before = api.reads.stats["compiled"]
    for token in ("admin", "rep"):
        for skip in (True, False):
            body = await api(query, {"s": skip}, token=token)
            assert "errors" not in body
    assert api.reads.stats["compiled"] - before == 4


async def test_errors_are_graphql_cores(api: Api, records: dict[str, str]) -> None:
    """Not found, a filter on a hidden field, a bad page size, a bad variable, an unknown field:
    the same errors as graphql-core gives (conftest compares them)."""
    await api.error('{ contract(id: "nope") { number } }')
    await api.error('{ contracts(where: {amount: {_gt: "1"}}) { nodes { number } } }', token="rep")
    await api.error("{ contracts(first: 1000) { nodes { number } } }")
    await api.error("query($n: Int) { contracts(first: $n) { nodes { number } } }", {"n": "three"})
    await api.error("{ contracts { nodes { nope } } }")
    assert await api.data("{ accounts { nodes { name } } }", token="support") == {"accounts": {"nodes": []}}


async def test_a_plan_is_never_used_with_another_release(api: Api, records: dict[str, str]) -> None:
    """Plans live with the schema of their release: after a publish the same text is compiled
    again for the new schema, and a plan run on a request of another release refuses to run."""
    assert api.reads is not None
    query = "{ contracts(first: 1, orderBy: [{number: ASC}]) { nodes { __typename number } } }"
    plans = api.reads.stats["plans"]
    for _ in range(3):
        assert (await api.data(query))["contracts"]["nodes"] == [{"__typename": "Contract", "number": "HT-1"}]
    assert api.reads.stats["plans"] - plans == 1
    old = TenantServices(api.installation).records(TENANT)
    api.store.publish(with_field(note={"type": "string"}), author="test")
    for _ in range(3):
        assert (await api.data(query))["contracts"]["nodes"] == [{"__typename": "Contract", "number": "HT-1"}]
    assert api.reads.stats["plans"] - plans == 2
    data = await api.data("{ contracts(first: 1, orderBy: [{number: ASC}]) { nodes { number note } } }")
    assert data["contracts"]["nodes"] == [{"number": "HT-1", "note": None}]
    stale = Plan(TENANT, old.registry.release, ())
    new = TenantServices(api.installation).records(TENANT)
    context = RequestContext(TENANT, Actor.system(), new)
    with pytest.raises(Fallback):
        Run(stale, context, VariableValues({}, {}), api.schemas.get(new.registry))


async def test_a_page_and_its_lookups_are_read_in_one_transaction_of_the_selected_columns(
        api: Api, records: dict[str, str]) -> None:
    """After the token check, every read of a compiled query shares one transaction (one
    snapshot), and each table is read for the columns the query selects, not all of them."""
    api.compare = False
    engine = api.installation.database(TENANT).engine
    transactions: list[object] = []

    def begun(conn: object) -> None:
        transactions.append(conn)

    query = '{ contracts(first: 2, orderBy: [{number: ASC}]) { nodes { number account { name } } } }'
    event.listen(engine, "begin", begun)
    try:
        with counting_statements(engine) as counter:
            data = await api.data(query)
    finally:
        event.remove(engine, "begin", begun)
    assert data == {"contracts": {"nodes": [{"number": "HT-1", "account": {"name": "华为"}},
                                            {"number": "HT-2", "account": {"name": "华为"}}]}}
    assert len(transactions) == 2  # the token check, then the query's reads
    (contracts,) = [s for s in counter.statements if "FROM obj_contract" in s]
    (accounts,) = [s for s in counter.statements if "FROM obj_account" in s]
    assert "obj_contract.number" in contracts and "obj_contract.amount" not in contracts
    assert "obj_contract.created_at" not in contracts
    assert "obj_account.name" in accounts and "obj_account.tier" not in accounts
