"""The records service: the one write path, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.helpers import counting_statements, rows
from tests.runtime.crm import ADMIN, actor, grant
from trellis.runtime.access import FieldAccess, Scope
from trellis.runtime.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from trellis.runtime.records.service import RecordsService


def problems(error: InvalidInput) -> dict[str, str]:
    return {p.path: p.message for p in error.problems}


def make_account(service: RecordsService, **values):  # type: ignore[no-untyped-def]
    return service.create(ADMIN, "account", {"name": "华为", **values})


def make_contract(service: RecordsService, account_id: str, number: str = "HT-1", **values):  # type: ignore[no-untyped-def]
    return service.create(ADMIN, "contract", {"number": number, "account": account_id, **values})


def test_create_applies_defaults_coercion_and_formulas(service: RecordsService):
    account = make_account(service, health="88", tags="vip;new")
    assert account["tier"] == "普通" and account["health"] == 88 and account["tags"] == ["vip", "new"]
    assert account["version"] == 1 and account["owner_id"] == "system" and len(account["id"]) == 36
    contract = make_contract(service, account["id"], amount="1234.50", start_date="2026-01-01",
                             end_date="2026-03-31", signed_at="2026-01-02T09:30:00")
    assert contract["amount"] == Decimal("1234.50")
    assert contract["end_date"] == date(2026, 3, 31)
    # a wall-clock time without a zone is read in the tenant's zone (Asia/Shanghai, UTC+8)
    assert contract["signed_at"] == datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
    assert contract["days_to_end"] == 30  # live: computed on read from today (2026-03-01 in Shanghai)
    assert contract["account_tier"] == "普通"  # a formula reading through a lookup
    line = service.create(ADMIN, "contract_line", {"contract": contract["id"], "quantity": 3, "unit_price": 19.99})
    assert line["line_total"] == Decimal("59.97")  # stored formula, exact money


def test_every_problem_is_reported_with_its_field(service: RecordsService):
    with pytest.raises(InvalidInput) as error:
        service.create(ADMIN, "account", {"tier": "钻石", "health": 101, "email": "nope", "ghost": 1,
                                          "open_tickets": 3, "tags": ["vip", "vip"]})
    found = problems(error.value)
    assert found["name"] == "is required"
    assert "expected one of 战略, 重要, 普通" in found["tier"]
    assert "at most 100" in found["health"]
    assert "email" in found["email"]
    assert "unknown field" in found["ghost"]
    assert "computed" in found["open_tickets"]
    assert "same choice twice" in found["tags"]
    assert error.value.code == "BAD_USER_INPUT"
    assert rows(service.db, "SELECT count(*) FROM obj_account") == [(0,)]


@pytest.mark.parametrize("field,value,words", [
    ("health", "eighty", "whole number"),
    ("health", 1.5, "whole number"),
    ("health", True, "whole number"),
    ("name", 42, "expected text"),
    ("tags", [1], "list of choices"),
])
def test_coercion_errors_name_what_was_expected(service: RecordsService, field: str, value: object, words: str):
    with pytest.raises(InvalidInput) as error:
        make_account(service, **{field: value})
    assert words in problems(error.value)[field]


def test_money_is_never_rounded_silently(service: RecordsService):
    account = make_account(service)
    with pytest.raises(InvalidInput) as error:
        make_contract(service, account["id"], amount="10.005")
    assert "at most 2 decimal places" in problems(error.value)["amount"]


def test_rules_use_the_tenant_locale_and_skip_blank_fields(service: RecordsService):
    account = make_account(service)
    with pytest.raises(InvalidInput) as error:
        make_contract(service, account["id"], start_date="2026-05-01", end_date="2026-04-01")
    assert problems(error.value)["$"] == "结束日期不能早于开始日期。"
    make_contract(service, account["id"], start_date="2026-05-01")  # end date blank: rule not applicable


def test_lookups_must_exist_and_be_visible(service: RecordsService):
    with pytest.raises(InvalidInput) as error:
        make_contract(service, "00000000-0000-7000-8000-000000000000")
    assert "no account with id" in problems(error.value)["account"]
    theirs = make_account(service)
    mine_only = actor("u1", account=grant(read=Scope.OWN), contract=grant())
    with pytest.raises(InvalidInput) as error:
        service.create(mine_only, "contract", {"number": "HT-9", "account": theirs["id"]})
    assert "no account with id" in problems(error.value)["account"]


def test_unique_values_are_field_errors(service: RecordsService):
    account = make_account(service)
    make_contract(service, account["id"], number="HT-1")
    with pytest.raises(InvalidInput) as error:
        make_contract(service, account["id"], number="HT-1")
    assert "must be unique" in problems(error.value)["number"]
    with pytest.raises(InvalidInput) as error:
        service.create_many(ADMIN, "contract", [{"number": "HT-2", "account": account["id"]},
                                                 {"number": "HT-2", "account": account["id"]}])
    assert "must be unique" in problems(error.value)["rows[1].number"]
    assert {i: [p.path for p in ps] for i, ps in error.value.rows.items()} == {1: ["number"]}
    assert rows(service.db, "SELECT count(*) FROM obj_contract") == [(1,)]


def test_bulk_create_skipping_bad_rows(service: RecordsService):
    result = service.create_many(ADMIN, "account", [{"name": "甲"}, {"name": ""}, {"name": "丙", "health": -1}, {"name": "丁"}],
                                 mode="skip-bad-rows")
    assert result.written == 2 and result.ids[1] is None and result.ids[2] is None
    assert set(result.problems) == {1, 2}
    assert "health" in {p.path for p in result.problems[2]}
    assert rows(service.db, "SELECT name FROM obj_account ORDER BY name") in ([("丁",), ("甲",)], [("甲",), ("丁",)])


def test_update_is_partial_and_versioned(service: RecordsService):
    account = make_account(service, health=50)
    updated = service.update(ADMIN, "account", account["id"], {"health": 60}, expected_version=1)
    assert (updated["name"], updated["health"], updated["version"]) == ("华为", 60, 2)
    with pytest.raises(Conflict, match="changed by someone else"):
        service.update(ADMIN, "account", account["id"], {"health": 70}, expected_version=1)
    with pytest.raises(InvalidInput) as error:
        service.update(ADMIN, "account", account["id"], {"name": None})
    assert problems(error.value)["name"] == "is required"
    assert service.get(ADMIN, "account", account["id"])["health"] == 60


def test_concurrent_updates_with_the_same_version_one_wins(service: RecordsService):
    account = make_account(service, health=1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(value: int) -> None:
        barrier.wait()
        try:
            service.update(ADMIN, "account", account["id"], {"health": value}, expected_version=1)
            outcomes.append("won")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(v,)) for v in (10, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "won"]
    assert service.get(ADMIN, "account", account["id"])["version"] == 2


def test_soft_delete_restore_and_purge(service: RecordsService):
    account = make_account(service)
    contract = make_contract(service, account["id"])
    service.delete(ADMIN, "account", account["id"])
    with pytest.raises(NotFound):
        service.get(ADMIN, "account", account["id"])
    assert service.get(ADMIN, "account", account["id"], include_deleted=True)["deleted_at"] is not None
    with pytest.raises(NotFound):
        service.delete(ADMIN, "account", account["id"])
    restored = service.restore(ADMIN, "account", account["id"])
    assert restored["deleted_at"] is None and restored["version"] == 3
    with pytest.raises(Conflict, match="still referenced by contracts"):
        service.purge(ADMIN, "account", account["id"])
    with pytest.raises(Forbidden):
        service.purge(actor("u1", account=grant()), "account", account["id"])
    service.purge(ADMIN, "contract", contract["id"])
    service.purge(ADMIN, "account", account["id"])
    assert rows(service.db, "SELECT count(*) FROM obj_account") == [(0,)]


def test_history_and_audit(service: RecordsService):
    account = make_account(service)
    contract = make_contract(service, account["id"], amount=100, end_date="2026-12-31")
    service.update(ADMIN, "contract", contract["id"], {"amount": "150.00", "status": "生效"})
    service.update(ADMIN, "contract", contract["id"], {"end_date": "2027-12-31"})
    history = service.history(ADMIN, "contract", contract["id"])
    assert [(h["field"], h["old_value"], h["new_value"]) for h in history] == [
        ("amount", "100.00", "150.00"), ("end_date", "2026-12-31", "2027-12-31")]  # status is not tracked
    audit = rows(service.db, "SELECT action FROM audit_log WHERE record_id = :id ORDER BY at, id", id=contract["id"])
    assert [a[0] for a in audit] == ["create", "update", "update"]


def test_rollups_follow_create_update_delete_restore_and_reparenting(service: RecordsService):
    a = make_account(service, name="甲")
    b = make_account(service, name="乙")

    def totals() -> tuple[object, object]:
        return (service.get(ADMIN, "account", a["id"])["contract_total"],
                service.get(ADMIN, "account", b["id"])["contract_total"])

    assert totals() == (Decimal("0.00"), Decimal("0.00"))
    c1 = make_contract(service, a["id"], "HT-1", amount="100.10")
    make_contract(service, a["id"], "HT-2", amount="0.20")
    assert totals() == (Decimal("100.30"), Decimal("0.00"))
    service.update(ADMIN, "contract", c1["id"], {"amount": "50.00"})
    assert totals() == (Decimal("50.20"), Decimal("0.00"))
    service.update(ADMIN, "contract", c1["id"], {"account": b["id"]})  # re-parented
    assert totals() == (Decimal("0.20"), Decimal("50.00"))
    service.delete(ADMIN, "contract", c1["id"])
    assert totals() == (Decimal("0.20"), Decimal("0.00"))
    service.restore(ADMIN, "contract", c1["id"])
    assert totals() == (Decimal("0.20"), Decimal("50.00"))


def test_rollup_filter_window_and_recompute(service: RecordsService):
    a = make_account(service)
    service.create_many(ADMIN, "ticket", [
        {"account": a["id"], "opened_on": "2026-02-20"},                      # counts
        {"account": a["id"], "opened_on": "2025-10-01"},                      # outside 90 days
        {"account": a["id"], "opened_on": "2026-02-25", "status": "closed"},  # filtered out
    ])
    assert service.get(ADMIN, "account", a["id"])["open_tickets"] == 1
    later = RecordsService(service.db, service.registry, "Asia/Shanghai", "zh-CN",
                           clock=lambda: datetime(2026, 6, 1, tzinfo=UTC), hooks=service.hooks)
    assert later.recompute_rollups("account") == 2
    assert later.get(ADMIN, "account", a["id"])["open_tickets"] == 0


def test_permissions_on_writes(service: RecordsService):
    reader = actor("u1", account=grant(create=False, update=Scope.NONE))
    with pytest.raises(Forbidden):
        service.create(reader, "account", {"name": "x"})
    account = make_account(service)
    with pytest.raises(Forbidden):
        service.update(reader, "account", account["id"], {"name": "y"})
    no_health = actor("u2", account=grant(health=FieldAccess.READ))
    with pytest.raises(InvalidInput) as error:
        service.update(no_health, "account", account["id"], {"health": 3})
    assert problems(error.value)["health"] == "you may not edit this field"
    own = actor("u3", account=grant(update=Scope.OWN))
    with pytest.raises(Forbidden):
        service.update(own, "account", account["id"], {"name": "z"})
    mine = service.create(own, "account", {"name": "mine"})
    assert service.update(own, "account", mine["id"], {"name": "still mine"})["name"] == "still mine"
    with pytest.raises(InvalidInput, match="owner"):
        service.update(own, "account", mine["id"], {"owner_id": "u9"})
    hidden = actor("u4", account=grant(health=FieldAccess.NONE))
    assert "health" not in service.get(hidden, "account", account["id"])


def test_unknown_object_is_not_found(service: RecordsService):
    with pytest.raises(NotFound, match="no object named 'acount'"):
        service.create(ADMIN, "acount", {})


def test_bulk_update(service: RecordsService):
    from trellis.runtime.records.service import UpdateItem

    a = make_account(service, name="甲")
    b = make_account(service, name="乙")
    result = service.update_many(ADMIN, "account", [UpdateItem(a["id"], {"health": 5}),
                                                     UpdateItem(b["id"], {"health": 500}, expected_version=1)],
                                 mode="skip-bad-rows")
    assert result.ids == [a["id"], None] and "health" in {p.path for p in result.problems[1]}
    with pytest.raises(InvalidInput) as error:
        service.update_many(ADMIN, "account", [UpdateItem(a["id"], {"health": 6}, expected_version=1),
                                                UpdateItem(b["id"], {"health": 7})])
    assert "changed by someone else" in problems(error.value)["rows[0].$"]
    assert service.get(ADMIN, "account", b["id"])["health"] is None  # all or nothing
    assert service.get(ADMIN, "account", a["id"])["health"] == 5


def test_bulk_update_reports_missing_and_forbidden_records_as_problems_of_their_items(service: RecordsService):
    from trellis.runtime.records.service import UpdateItem

    mine = service.create(actor("u1", account=grant()), "account", {"name": "甲"})
    theirs = make_account(service, name="乙")
    rep = actor("u1", account=grant(update=Scope.OWN))
    items = [UpdateItem(mine["id"], {"health": 1}), UpdateItem("no-such-id", {"health": 2}),
             UpdateItem(theirs["id"], {"health": 3})]
    result = service.update_many(rep, "account", items, mode="skip-bad-rows")
    assert result.ids == [mine["id"], None, None]
    assert problems_of(result.problems[1]) == {"$": "no account with id 'no-such-id'"}
    assert problems_of(result.problems[2]) == {"$": "you may not update this account"}
    assert service.get(ADMIN, "account", mine["id"])["health"] == 1
    with pytest.raises(InvalidInput) as error:
        service.update_many(rep, "account", items)
    assert set(problems(error.value)) == {"rows[1].$", "rows[2].$"}
    with pytest.raises(NotFound):  # a single update says so plainly, as `update` always has
        service.update_many(rep, "account", [items[1]])
    with pytest.raises(Forbidden):
        service.update_many(rep, "account", [items[2]])


def test_bulk_update_reads_its_records_in_one_query(service: RecordsService):
    from trellis.runtime.records.service import UpdateItem

    ids = [r for r in service.create_many(ADMIN, "account", [{"name": f"客户{i}"} for i in range(40)]).ids]
    with counting_statements(service.db.engine) as counter:
        service.update_many(ADMIN, "account", [UpdateItem(i, {"health": 50}) for i in ids if i])
    assert len(counter.selects_from("obj_account")) == 1, counter.statements


def problems_of(found: list[FieldProblem]) -> dict[str, str]:
    return {p.path: p.message for p in found}


def test_find_reads_records_by_id_as_the_actor_may_see_them(service: RecordsService):
    """`find` answers a batch of lookups: None for a missing, deleted or invisible record (not
    revealed which), hidden fields left out, and only the fields asked for when it is told."""
    mine_to_see = actor("u1", account=grant(read=Scope.OWN, health=FieldAccess.NONE))
    theirs, gone = make_account(service, health=70), make_account(service, name="gone")
    own = service.create(ADMIN, "account", {"name": "own", "owner_id": "u1", "health": 40})
    service.delete(ADMIN, "account", gone["id"])
    ids = [theirs["id"], gone["id"], own["id"], "nope"]
    found = service.find(mine_to_see, "account", ids)
    assert list(found) == ids
    assert found[theirs["id"]] is None and found[gone["id"]] is None and found["nope"] is None
    assert found[own["id"]] is not None and found[own["id"]]["name"] == "own" and "health" not in found[own["id"]]
    with counting_statements(service.db.engine) as counter:
        narrow = service.find(ADMIN, "account", ids, fields={"name"})
    assert narrow[theirs["id"]] == {"id": theirs["id"], "name": "华为"} and narrow[gone["id"]] is None
    (statement,) = [s for s in counter.statements if "obj_account" in s]
    assert "obj_account.health" not in statement
