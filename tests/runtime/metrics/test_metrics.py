"""Metrics on both databases against numbers worked by hand: renewal rate by count and by value,
GRR and NRR with an expansion and a contraction, a rep who sees only their own contracts,
grouping, drill-down and periods."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.runtime.automation.world import Clock
from trellis.metadata.model import MetadataSet
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.errors import InvalidInput
from trellis.runtime.identity import UserService
from trellis.runtime.metrics.compute import compute_metric, drill_down, metric_named
from trellis.runtime.metrics.periods import parse_period
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry, build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

CONTRACT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "renewed", "churned"]},
        "end_date": {"type": "string", "format": "date"},
        "amount": {"type": "number", "x-kind": "currency"},
        "renewed_amount": {"type": "number", "x-kind": "currency"},
        "region": {"type": "string"},
        "account": {"type": ["string", "null"], "x-ref": "account"},
    },
    "required": ["name"],
}
ACCOUNT = {"type": "object", "properties": {"name": {"type": "string"},
                                            "tier": {"type": "string", "enum": ["gold", "silver"]}}}
EXPIRING = "status in ['renewed', 'churned']"


def _ratio(label: str, numerator: dict[str, Any], denominator: dict[str, Any]) -> dict[str, Any]:
    return {"x-label": label, "definition": f"{label}: see the test", "object": "contract", "period_field": "end_date",
            "numerator": numerator, "denominator": denominator, "format": "percent", "group_by": ["region", "owner_id", "account.tier"]}


METRICS = {
    "renewal_rate": _ratio("Renewal rate", {"function": "count", "where": "status == 'renewed'"},
                           {"function": "count", "where": EXPIRING}),
    "renewal_rate_value": _ratio("Renewal rate by value",
                                 {"function": "sum", "value": "amount", "where": "status == 'renewed'"},
                                 {"function": "sum", "value": "amount", "where": EXPIRING}),
    "grr": _ratio("GRR", {"function": "sum", "value": "min(coalesce(renewed_amount, 0), amount)", "where": EXPIRING},
                  {"function": "sum", "value": "amount", "where": EXPIRING}),
    "nrr": _ratio("NRR", {"function": "sum", "value": "coalesce(renewed_amount, 0)", "where": EXPIRING},
                  {"function": "sum", "value": "amount", "where": EXPIRING}),
    "value_up_for_renewal": {"x-label": "Value ending", "definition": "Sum of amounts ending in the period",
                             "object": "contract", "period_field": "end_date", "default_period": "next_30_days",
                             "numerator": {"function": "sum", "value": "amount", "where": "status == 'active'"},
                             "format": "money"},
}
REP = {"objects": {"contract": {"read": "own"}, "account": {"read": "own"}}}


class MetricWorld:
    def __init__(self, installation: Installation):
        installation.create_tenant("acme", timezone_name="Asia/Shanghai", locale="en")
        self.db = installation.database("acme")
        self.clock = Clock()  # 2026-03-01 08:00 in Shanghai
        store = MetadataStore(self.db)
        items: dict[tuple[str, str], Any] = {("object", "contract"): CONTRACT, ("object", "account"): ACCOUNT,
                                             ("role", "rep"): REP}
        items.update({("metric", n): d for n, d in METRICS.items()})
        store.publish(MetadataSet(copy.deepcopy(items)), author="test")
        self.registry: Registry = build_registry("acme", store.current())  # type: ignore[arg-type]
        users = UserService(self.db, store)
        self.ids = {e: users.create_user(e, name=e, roles=["rep"]).id for e in ("rep1@acme.test", "rep2@acme.test")}
        self.users = users

    def records(self) -> RecordsService:
        return RecordsService(self.db, self.registry, "Asia/Shanghai", "en", clock=self.clock, hooks=write_hooks())

    def contract(self, name: str, owner: str, status: str, end: str, amount: str, renewed: str | None,
                 region: str = "East", account: str | None = None) -> None:
        self.records().create(Actor.system(), "contract", {
            "name": name, "owner_id": self.ids[owner], "status": status, "end_date": end, "amount": amount,
            "renewed_amount": renewed, "region": region, "account": account})

    def account(self, name: str, owner: str, tier: str) -> str:
        return str(self.records().create(Actor.system(), "account", {"name": name, "owner_id": self.ids[owner],
                                                                     "tier": tier})["id"])

    def value(self, name: str, actor: Actor | None = None, period: str | None = "2026-Q1", group_by: str | None = None):  # type: ignore[no-untyped-def]
        context = self.records().context()
        with self.db.read() as conn:
            return compute_metric(conn, self.registry, actor or Actor.system(), metric_named(self.registry.metadata, name),
                                  context, period, group_by, "en")


@pytest.fixture
def world(installation: Installation) -> MetricWorld:
    found = MetricWorld(installation)
    found.contract("c1", "rep1@acme.test", "renewed", "2026-01-15", "100.00", "120.00")  # expansion
    found.contract("c2", "rep2@acme.test", "renewed", "2026-02-10", "200.00", "150.00", "West")  # contraction
    found.contract("c3", "rep1@acme.test", "churned", "2026-03-05", "50.00", None)  # lost
    found.contract("c4", "rep2@acme.test", "renewed", "2026-03-31", "150.00", "150.00", "West")  # flat
    found.contract("c5", "rep1@acme.test", "renewed", "2026-04-01", "999.00", "999.00")  # next quarter
    found.contract("c6", "rep1@acme.test", "active", "2026-03-20", "80.10", None)  # still open
    return found


def test_renewal_rate_grr_and_nrr_worked_by_hand(world: MetricWorld) -> None:
    # expiring in Q1: c1 100 (renewed at 120), c2 200 (at 150), c3 50 (lost), c4 150 (at 150): 500
    rate = world.value("renewal_rate").total
    assert (rate.numerator, rate.denominator, rate.value) == (3, 4, Decimal("0.75"))
    by_value = world.value("renewal_rate_value").total  # (100 + 200 + 150) / 500
    assert (by_value.numerator, by_value.denominator, by_value.value) == (Decimal("450.00"), Decimal("500.00"),
                                                                           Decimal("0.9"))
    grr = world.value("grr").total  # min(120,100) + min(150,200) + 0 + 150 = 400
    assert (grr.numerator, grr.value) == (Decimal("400.00"), Decimal("0.8"))
    nrr = world.value("nrr").total  # 120 + 150 + 0 + 150 = 420
    assert (nrr.numerator, nrr.value) == (Decimal("420.00"), Decimal("0.84"))
    assert isinstance(nrr.numerator, Decimal)


def test_a_rep_sees_only_their_own_numbers(world: MetricWorld) -> None:
    rep1 = world.users.actor_for("rep1@acme.test")
    rate = world.value("renewal_rate", rep1).total  # c1 renewed, c3 lost
    assert (rate.numerator, rate.denominator) == (1, 2)
    nrr = world.value("nrr", rep1).total  # 120 / 150
    assert (nrr.numerator, nrr.denominator, nrr.value) == (Decimal("120.00"), Decimal("150.00"), Decimal("0.8"))
    context = world.records().context()
    with world.db.read() as conn:
        rows, more = drill_down(conn, world.registry, rep1, metric_named(world.registry.metadata, "renewal_rate"),
                                context, "2026-Q1", "denominator")
    assert sorted(r["name"] for r in rows) == ["c1", "c3"] and not more


def test_grouped_and_drilled_down(world: MetricWorld) -> None:
    grouped = world.value("grr", group_by="region")
    assert [(g, f.numerator, f.denominator) for g, f in grouped.groups] == [
        ("East", Decimal("100.00"), Decimal("150.00")), ("West", Decimal("300.00"), Decimal("350.00"))]
    with pytest.raises(InvalidInput, match="invalid groupBy"):
        world.value("grr", group_by="status")
    context = world.records().context()
    with world.db.read() as conn:
        page, more = drill_down(conn, world.registry, Actor.system(), metric_named(world.registry.metadata, "renewal_rate"),
                                context, "2026-Q1", "numerator", first=2)
    assert len(page) == 2 and more


def test_a_rep_grouping_by_an_account_field_sees_only_the_accounts_they_may_read(world: MetricWorld) -> None:
    # rep1 owns contract c7 on rep2's gold account: rep1 may read the contract, not the account
    gold = world.account("Gold Co", "rep2@acme.test", "gold")
    silver = world.account("Silver Co", "rep1@acme.test", "silver")
    world.contract("c7", "rep1@acme.test", "renewed", "2026-02-01", "10.00", "10.00", account=gold)
    world.contract("c8", "rep1@acme.test", "churned", "2026-02-02", "20.00", None, account=silver)
    world.contract("c9", "rep2@acme.test", "renewed", "2026-02-03", "40.00", "40.00", account=gold)
    everyone = world.value("renewal_rate", group_by="account.tier")
    assert [(g, f.numerator, f.denominator) for g, f in everyone.groups] == [
        ("gold", 2, 2), ("silver", 0, 1), (None, 3, 4)]  # the system sees every account; blank last
    rep1 = world.users.actor_for("rep1@acme.test")
    mine = world.value("renewal_rate", rep1, group_by="account.tier")
    # rep1's contracts: c1 renewed, c3 lost (no account), c7 on the gold account they may not read,
    # c8 lost on their silver account; nothing of rep2's gold account shows as a group
    assert [(g, f.numerator, f.denominator) for g, f in mine.groups] == [("silver", 0, 1), (None, 2, 3)]
    assert (mine.total.numerator, mine.total.denominator) == (2, 4)


def test_a_snapshot_metric_uses_its_default_period_and_money_is_exact(world: MetricWorld) -> None:
    ending = world.value("value_up_for_renewal", period=None)  # today 2026-03-01: c6 ends 03-20
    assert (ending.period.start, ending.total.value) == (date(2026, 3, 1), Decimal("80.10"))


def test_periods() -> None:
    today = date(2026, 3, 1)
    assert (parse_period("2026-Q3", today).start, parse_period("2026-Q3", today).end) == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_period("last_quarter", today).start == date(2025, 10, 1)
    assert parse_period("2026-02", today).end == date(2026, 3, 1)
    assert parse_period("next_30_days", today).end == date(2026, 4, 1)
    with pytest.raises(InvalidInput, match="invalid period"):
        parse_period("2026-Q5", today)

