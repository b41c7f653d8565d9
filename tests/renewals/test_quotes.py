"""Quotes: line formulas in exact money, totals as roll-ups, lines from the expiring contract
with the product's uplift, and bad lines refused with the line's number and field."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.renewals.world import Renewals
from trellis.runtime.access import Actor
from trellis.runtime.errors import InvalidInput

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def test_line_formulas_and_totals_in_exact_money(renewals: Renewals) -> None:
    crm, sms = renewals.product("CRM", "36000.00"), renewals.product("SMS", "1234.57")
    quote = renewals.quote([
        {"product": crm, "quantity": 3, "list_price": "36000.00", "uplift_pct": "5", "discount_pct": "12.5"},
        {"product": sms, "quantity": 7, "list_price": "1234.57", "uplift_pct": "7", "discount_pct": "3.33"},
        {"product": sms, "quantity": 1, "list_price": "0.10", "uplift_pct": "0", "discount_pct": "0"},
    ])
    lines = sorted(renewals.find("quote_line", quote=quote), key=lambda line: line["list_price"], reverse=True)
    crm_line, sms_line, cheap = lines
    assert crm_line["unit_price"] == Decimal("37800.00") and crm_line["net_price"] == Decimal("33075.00")
    assert crm_line["line_total"] == Decimal("99225.00") and crm_line["list_amount"] == Decimal("113400.00")
    unit = money(Decimal("1234.57") * Decimal("107") / 100)  # 1320.9899 → 1320.99
    assert sms_line["unit_price"] == unit == Decimal("1320.99")
    assert sms_line["line_total"] == money(7 * unit * (100 - Decimal("3.33")) / 100) == Decimal("8939.01")
    assert cheap["line_total"] == Decimal("0.10")
    found = renewals.get("quote", quote)
    assert found["total"] == Decimal("99225.00") + Decimal("8939.01") + Decimal("0.10")
    assert found["list_total"] == Decimal("113400.00") + money(7 * unit) + Decimal("0.10")
    assert (found["line_count"], found["max_discount_pct"]) == (3, Decimal("12.5"))


def test_bad_lines_are_refused_with_their_line_and_field(renewals: Renewals) -> None:
    crm = renewals.product("CRM", "100.00")
    quote = renewals.quote([])
    rows = [{"quote": quote, "product": crm, "quantity": 1, "list_price": "100", "uplift_pct": "5"},
            {"quote": quote, "product": crm, "quantity": -2, "list_price": "100"},
            {"quote": quote, "product": crm, "quantity": 1, "list_price": "100", "discount_pct": "120"},
            {"quote": quote, "product": crm, "quantity": 1, "list_price": "0", "uplift_pct": "5"}]
    with pytest.raises(InvalidInput) as raised:
        renewals.records().create_many(Actor.system(), "quote_line", rows)
    paths = {p.path: p.message for p in raised.value.problems}
    assert set(paths) == {"rows[1].quantity", "rows[2].discount_pct", "rows[3].uplift_pct"}, paths
    assert "不能设置涨价比例" in paths["rows[3].uplift_pct"]
    assert sorted(raised.value.rows) == [1, 2, 3]
    assert renewals.find("quote_line", quote=quote) == []  # nothing half-written


def test_a_quote_from_the_expiring_contract_takes_its_lines_and_the_uplift(renewals: Renewals) -> None:
    crm, svc = renewals.product("CRM", "36000.00", uplift="8"), renewals.product("SVC", "15000.00", uplift="0")
    contract = renewals.contract([(crm, 2, "35000.00", "10"), (svc, 1, "15000.00", "0")])
    account = renewals.get("contract", contract)["account"]
    quote = renewals.records().create(Actor.system(), "quote", {
        "name": "续约报价", "account": account, "contract": contract, "owner_id": renewals.ids["rep@acme.test"]})["id"]
    renewals.settle()
    lines = {line["product"]: line for line in renewals.find("quote_line", quote=quote)}
    assert lines[crm]["list_price"] == Decimal("35000.00") and lines[crm]["uplift_pct"] == Decimal("8")
    assert lines[crm]["unit_price"] == Decimal("37800.00") and lines[crm]["discount_pct"] == Decimal("10")
    assert lines[crm]["line_total"] == Decimal("68040.00")
    assert lines[svc]["uplift_pct"] == Decimal("0") and lines[svc]["line_total"] == Decimal("15000.00")
    assert renewals.get("quote", quote)["total"] == Decimal("83040.00")
