"""The query compiler through the records service: filters, sorting, cursors, aggregates, and
the permission cases that must not leak — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.runtime.crm import ADMIN, actor, grant
from trellis.runtime.access import FieldAccess, Scope
from trellis.runtime.errors import Forbidden, InvalidInput
from trellis.runtime.query.aggregates import GroupBy, Metric
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService


@pytest.fixture
def crm(service: RecordsService) -> dict[str, Any]:
    """Three accounts (two owned by u1), five contracts, tickets."""
    u1 = actor("u1", account=grant(), contract=grant(), ticket=grant())
    a = service.create(u1, "account", {"name": "甲", "tier": "战略", "health": 90, "tags": ["vip"]})
    b = service.create(u1, "account", {"name": "乙", "tier": "重要", "health": 40, "tags": ["risk", "new"]})
    c = service.create(ADMIN, "account", {"name": "丙", "tier": "普通"})
    contracts = service.create_many(ADMIN, "contract", [
        {"number": "HT-1", "account": a["id"], "amount": "100.10", "end_date": "2026-03-10", "status": "生效"},
        {"number": "HT-2", "account": a["id"], "amount": "200.20", "end_date": "2026-06-30", "status": "生效"},
        {"number": "HT-3", "account": b["id"], "amount": "300.30", "end_date": "2026-03-31", "status": "草稿"},
        {"number": "HT-4", "account": c["id"], "amount": "0.40", "status": "已到期"},
        {"number": "HT-5", "account": c["id"], "end_date": "2027-01-15", "status": "生效"},
    ]).ids
    service.create(ADMIN, "ticket", {"account": a["id"], "opened_on": "2026-02-01", "subject": "登录失败"})
    return {"a": a, "b": b, "c": c, "contracts": contracts, "u1": u1}


def numbers(service: RecordsService, who: Any = ADMIN, **request: Any) -> list[str]:
    page = service.list(who, "contract", PageRequest(**request))
    return [r["number"] for r in page.records]


@pytest.mark.parametrize("where,expected", [
    ({"status": {"_eq": "生效"}}, ["HT-1", "HT-2", "HT-5"]),
    ({"status": {"_neq": "生效"}}, ["HT-3", "HT-4"]),
    ({"status": {"_in": ["草稿", "已到期"]}}, ["HT-3", "HT-4"]),
    ({"status": {"_nin": ["生效"]}}, ["HT-3", "HT-4"]),
    ({"amount": {"_gt": "100.10"}}, ["HT-2", "HT-3"]),
    ({"amount": {"_gte": 100.1}}, ["HT-1", "HT-2", "HT-3"]),
    ({"amount": {"_lt": 1}}, ["HT-4"]),
    ({"amount": {"_is_null": True}}, ["HT-5"]),
    ({"end_date": {"_lte": "2026-03-31"}}, ["HT-1", "HT-3"]),
    ({"number": {"_like": "HT-%"}, "status": {"_eq": "草稿"}}, ["HT-3"]),
    ({"number": {"_ilike": "ht-1"}}, ["HT-1"]),
    ({"_or": [{"number": {"_eq": "HT-1"}}, {"number": {"_eq": "HT-4"}}]}, ["HT-1", "HT-4"]),
    ({"_not": {"status": {"_eq": "生效"}}}, ["HT-3", "HT-4"]),
    ({"_and": [{"status": {"_eq": "生效"}}, {"end_date": {"_gt": "2026-04-01"}}]}, ["HT-2", "HT-5"]),
    ({"account": {"tier": {"_eq": "战略"}}}, ["HT-1", "HT-2"]),                 # through a lookup
    ({"account": {"tags": {"_contains": "risk"}}}, ["HT-3"]),                     # multi-select
    ({"days_to_end": {"_lte": 30}}, ["HT-1", "HT-3"]),                           # live formula in SQL
])
def test_filters(service: RecordsService, crm: dict[str, Any], where: dict[str, Any], expected: list[str]):
    assert sorted(numbers(service, where=where)) == expected


def test_reverse_relations(service: RecordsService, crm: dict[str, Any]):
    def names(where: dict[str, Any]) -> list[str]:
        return sorted(r["name"] for r in service.list(ADMIN, "account", PageRequest(where=where)).records)

    assert names({"contracts": {"_some": {"status": {"_eq": "草稿"}}}}) == ["乙"]
    assert names({"contracts": {"_none": {"status": {"_eq": "生效"}}}}) == ["乙"]
    assert names({"tickets": {"_some": {}}}) == ["甲"]


@pytest.mark.parametrize("where,path,words", [
    ({"amout": {"_eq": 1}}, "where.amout", "unknown field 'amout'"),
    ({"status": {"_gt": "生效"}}, "where.status._gt", "does not apply to enum"),
    ({"status": {"_eq": "不存在"}}, "where.status._eq", "not a choice"),
    ({"amount": {"_eq": "lots"}}, "where.amount._eq", "expected an amount"),
    ({"amount": {"_eq": None}}, "where.amount._eq", "use _is_null"),
    ({"end_date": {"_gt": "next week"}}, "where.end_date._gt", "YYYY-MM-DD"),
    ({"_or": {"status": {"_eq": "生效"}}}, "where._or", "list"),
    ({"status": "生效"}, "where.status", "{\"_eq\""),
    ({"account": {"nam": {"_eq": "x"}}}, "where.account.nam", "unknown field 'nam' of account"),
    ({"account": {"_in": "x"}}, "where.account._in", "expected a list"),
])
def test_bad_filters_name_the_path(service: RecordsService, crm: dict[str, Any], where: dict[str, Any],
                                   path: str, words: str):
    with pytest.raises(InvalidInput) as error:
        numbers(service, where=where)
    assert {p.path: p.message for p in error.value.problems}[path].find(words) >= 0


def test_sorting_with_nulls_placement(service: RecordsService, crm: dict[str, Any]):
    assert numbers(service, order_by=[{"end_date": "ASC"}]) == ["HT-1", "HT-3", "HT-2", "HT-5", "HT-4"]
    assert numbers(service, order_by=[{"end_date": "ASC_NULLS_FIRST"}]) == ["HT-4", "HT-1", "HT-3", "HT-2", "HT-5"]
    assert numbers(service, order_by=[{"end_date": "DESC"}]) == ["HT-4", "HT-5", "HT-2", "HT-3", "HT-1"]
    assert numbers(service, order_by=[{"end_date": "DESC_NULLS_LAST"}]) == ["HT-5", "HT-2", "HT-3", "HT-1", "HT-4"]
    effective = numbers(service, where={"status": {"_eq": "生效"}}, order_by=[{"status": "ASC"}, {"amount": "DESC_NULLS_LAST"}])
    assert effective == ["HT-2", "HT-1", "HT-5"]  # one status: then amount descending, blank last
    assert numbers(service, order_by=[{"days_to_end": "ASC"}])[:2] == ["HT-1", "HT-3"]
    with pytest.raises(InvalidInput, match="direction"):
        numbers(service, order_by=[{"end_date": "UP"}])


@pytest.mark.parametrize("order", [[{"end_date": "ASC"}], [{"end_date": "DESC_NULLS_LAST"}],
                                   [{"status": "ASC"}, {"amount": "ASC_NULLS_FIRST"}], None])
def test_cursor_pagination_walks_every_row_once_both_ways(service: RecordsService, crm: dict[str, Any],
                                                           order: list[dict[str, str]] | None):
    everything = numbers(service, order_by=order, first=50)
    forward, cursor = [], None
    while True:
        page = service.list(ADMIN, "contract", PageRequest(order_by=order, first=2, after=cursor))
        forward += [r["number"] for r in page.records]
        if not page.page.has_next:
            break
        cursor = page.page.end_cursor
    assert forward == everything
    backward, cursor = [], None
    while True:
        page = service.list(ADMIN, "contract", PageRequest(order_by=order, last=2, before=cursor))
        backward = [r["number"] for r in page.records] + backward
        if not page.page.has_previous:
            break
        cursor = page.page.start_cursor
    assert backward == everything


def test_total_only_when_asked_and_cursor_tampering(service: RecordsService, crm: dict[str, Any]):
    page = service.list(ADMIN, "contract", PageRequest(first=2, with_total=True, where={"status": {"_eq": "生效"}}))
    assert page.page.total == 3 and len(page.records) == 2
    assert service.list(ADMIN, "contract", PageRequest(first=2)).page.total is None
    cursor = page.page.end_cursor
    with pytest.raises(InvalidInput, match="cursor"):
        service.list(ADMIN, "contract", PageRequest(first=2, after=cursor, order_by=[{"amount": "ASC"}]))
    with pytest.raises(InvalidInput, match="cursor"):
        service.list(ADMIN, "contract", PageRequest(first=2, after="garbage!"))
    with pytest.raises(InvalidInput, match="from 0 to 500"):
        service.list(ADMIN, "contract", PageRequest(first=501))


def test_aggregates_group_by_fields_and_date_buckets(service: RecordsService, crm: dict[str, Any]):
    by_status = service.aggregate(ADMIN, "contract", group_by=[GroupBy("status")],
                                  metrics=[Metric("count"), Metric("sum", "amount"), Metric("max", "end_date")])
    found = {g["group"]["status"]: (g["count"], g["sum"]["amount"], g["max"]["end_date"]) for g in by_status}
    assert found == {"生效": (3, Decimal("300.30"), date(2027, 1, 15)), "草稿": (1, Decimal("300.30"), date(2026, 3, 31)),
                     "已到期": (1, Decimal("0.40"), None)}
    by_month = service.aggregate(ADMIN, "contract", where={"end_date": {"_is_null": False}},
                                 group_by=[GroupBy("end_date", "month")], metrics=[Metric("count")])
    assert [(g["group"]["end_date_month"], g["count"]) for g in by_month] == [
        (date(2026, 3, 1), 2), (date(2026, 6, 1), 1), (date(2027, 1, 1), 1)]
    by_quarter = service.aggregate(ADMIN, "contract", where={"end_date": {"_is_null": False}},
                                   group_by=[GroupBy("end_date", "quarter")], metrics=[Metric("avg", "amount")])
    assert [g["group"]["end_date_quarter"] for g in by_quarter] == [date(2026, 1, 1), date(2026, 4, 1), date(2027, 1, 1)]
    assert by_quarter[0]["avg"]["amount"] == Decimal("200.20")
    total = service.aggregate(ADMIN, "contract", metrics=[Metric("count"), Metric("count_distinct", "account"),
                                                         Metric("avg", "days_to_end")])
    assert (total[0]["count"], total[0]["count_distinct"]["account"]) == (5, 3)
    with pytest.raises(InvalidInput, match="does not apply"):
        service.aggregate(ADMIN, "contract", metrics=[Metric("sum", "status")])


def test_an_average_of_money_is_rounded_half_up_to_the_fields_scale(service: RecordsService, crm: dict[str, Any]):
    account = crm["a"]["id"]
    service.create_many(ADMIN, "contract", [{"number": f"AVG-{i}", "account": account, "amount": amount}
                                            for i, amount in enumerate(["100.00", "100.01", "100.01"])])
    [found] = service.aggregate(ADMIN, "contract", where={"number": {"_like": "AVG-%"}},
                                metrics=[Metric("avg", "amount")])
    assert found["avg"]["amount"] == Decimal("100.01")  # 100.00666…: two places, as an amount is stored
    assert found["avg"]["amount"].as_tuple().exponent == -2


def test_week_buckets_start_on_monday_in_the_tenant_zone(service: RecordsService, crm: dict[str, Any]):
    # 2026-03-01 01:00 in Shanghai is still 2026-02-28 (a Saturday) in UTC
    contract = service.create(ADMIN, "contract", {"number": "HT-9", "account": crm["a"]["id"],
                                                  "signed_at": "2026-03-01T01:00:00+08:00"})
    buckets = service.aggregate(ADMIN, "contract", where={"id": {"_eq": contract["id"]}},
                                group_by=[GroupBy("signed_at", "day"), GroupBy("signed_at", "week")])
    assert buckets[0]["group"] == {"signed_at_day": date(2026, 3, 1), "signed_at_week": date(2026, 2, 23)}


class TestNoLeaks:
    """Own-only users and hidden fields: nothing leaks through lists, counts, aggregates or filters."""

    def own(self) -> Any:
        return actor("u1", account=grant(read=Scope.OWN, health=FieldAccess.NONE), contract=grant(read=Scope.OWN),
                     ticket=grant())

    def test_lists_counts_and_aggregates_see_own_rows_only(self, service: RecordsService, crm: dict[str, Any]):
        own = self.own()
        names = [r["name"] for r in service.list(own, "account", PageRequest(with_total=True)).records]
        assert sorted(names) == ["乙", "甲"]
        assert service.list(own, "account", PageRequest(with_total=True)).page.total == 2
        assert service.aggregate(own, "account", metrics=[Metric("count")])[0]["count"] == 2
        assert numbers(service, own) == []  # contracts were created by the system, not u1

    def test_hidden_fields_cannot_be_read_filtered_sorted_grouped_or_aggregated(self, service: RecordsService,
                                                                                 crm: dict[str, Any]):
        own = self.own()
        assert all("health" not in r for r in service.list(own, "account").records)
        for call in (
            lambda: service.list(own, "account", PageRequest(where={"health": {"_gt": 50}})),
            lambda: service.list(own, "account", PageRequest(order_by=[{"health": "ASC"}])),
            lambda: service.aggregate(own, "account", group_by=[GroupBy("health")]),
            lambda: service.aggregate(own, "account", metrics=[Metric("max", "health")]),
            lambda: service.list(own, "ticket", PageRequest(where={"account": {"health": {"_gt": 50}}})),
        ):
            with pytest.raises(Forbidden):
                call()

    def test_lookup_filters_do_not_reveal_other_owners_rows(self, service: RecordsService, crm: dict[str, Any]):
        own = self.own()
        # tickets are readable by all, but account 丙 is not u1's: filtering tickets by it finds nothing
        hits = service.list(own, "ticket", PageRequest(where={"account": {"name": {"_eq": "丙"}}})).records
        assert hits == []
        reverse = service.list(own, "account", PageRequest(where={"contracts": {"_some": {}}})).records
        assert reverse == []  # u1 sees no contracts, so none of its accounts "has" one

    def test_no_read_grant_means_nothing(self, service: RecordsService, crm: dict[str, Any]):
        nobody = actor("u9")
        assert service.list(nobody, "account").records == []
        assert service.aggregate(nobody, "account")[0]["count"] == 0
