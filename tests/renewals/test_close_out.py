"""Close-out through the app's rules: an accepted quote wins the opportunity, renews the expiring
contract and starts the next term with the quote's lines; a lost renewal needs a churn reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.renewals.world import Renewals
from trellis.runtime.access import Actor
from trellis.runtime.errors import InvalidInput
from trellis.runtime.metrics.service import answer

REP = "rep@acme.test"


def opportunity_for(renewals: Renewals, contract: str) -> str:
    found = renewals.get("contract", contract)
    return renewals.records().create(Actor.system(), "renewal_opportunity", {
        "name": "续约", "contract": contract, "account": found["account"], "stage": "沟通中",
        "owner_id": renewals.ids[REP]})["id"]


def test_accepting_an_approved_quote_creates_the_next_term(renewals: Renewals) -> None:
    crm = renewals.product("CRM", "36000.00", uplift="5")
    contract = renewals.contract([(crm, 2, "36000.00", "0")], end="2026-03-31", cycle="年度")
    opportunity = opportunity_for(renewals, contract)
    rep = renewals.actor(REP)
    renewals.records().update(rep, "renewal_opportunity", opportunity, {"stage": "报价中"})
    renewals.settle()
    quote = renewals.find("quote", opportunity=opportunity)[0]
    assert (quote["contract"], quote["status"], quote["total"]) == (contract, "草稿", Decimal("75600.00"))

    with pytest.raises(InvalidInput, match="只有已批准的报价单"):
        renewals.records().update(rep, "quote", quote["id"], {"status": "已接受"})
    renewals.records().update(rep, "quote", quote["id"], {"status": "待审批"})  # 0% discount: approved at once
    renewals.records().update(rep, "quote", quote["id"], {"status": "已接受"})
    renewals.settle()

    assert renewals.get("renewal_opportunity", opportunity)["stage"] == "已赢单"
    assert renewals.get("contract", contract)["status"] == "已续约"
    nxt = renewals.find("contract", renewal_of=contract)
    assert len(nxt) == 1
    term = nxt[0]
    assert (str(term["start_date"]), str(term["end_date"]), term["status"]) == ("2026-04-01", "2027-03-31", "生效")
    assert (term["amount"], term["cycle"], term["owner_id"], term["source_quote"]) == (
        Decimal("75600.00"), "年度", renewals.ids[REP], quote["id"])
    lines = renewals.find("contract_line", contract=term["id"])
    assert [(line["product"], line["quantity"], line["unit_price"], line["line_total"]) for line in lines] == [
        (crm, 2, Decimal("37800.00"), Decimal("75600.00"))]
    assert renewals.get("quote", quote["id"])["next_contract"] == term["id"]


def test_a_lost_renewal_needs_a_churn_reason(renewals: Renewals) -> None:
    crm = renewals.product("CRM", "100.00")
    opportunity = opportunity_for(renewals, renewals.contract([(crm, 1, "100.00", "0")]))
    with pytest.raises(InvalidInput, match="流失原因"):
        renewals.records().update(renewals.actor(REP), "renewal_opportunity", opportunity, {"stage": "已流失"})
    renewals.records().update(renewals.actor(REP), "renewal_opportunity", opportunity,
                              {"stage": "已流失", "churn_reason": "竞品"})
    assert renewals.get("renewal_opportunity", opportunity)["stage"] == "已流失"


def test_a_lost_renewal_counts_in_logo_churn_before_the_contract_runs_out(renewals: Renewals) -> None:
    crm = renewals.product("CRM", "100.00")
    lost = renewals.contract([(crm, 1, "100.00", "0")], number="HT-L")
    kept = renewals.contract([(crm, 1, "100.00", "0")], number="HT-K")
    renewals.records().update(Actor.system(), "contract", kept, {"status": "已续约"})
    before = answer(renewals.records(), Actor.system(), "logo_churn", "all")
    assert (before.total.numerator, before.total.denominator) == (0, 1)
    renewals.records().update(renewals.actor(REP), "renewal_opportunity", opportunity_for(renewals, lost),
                              {"stage": "已流失", "churn_reason": "价格"})
    renewals.settle()
    contract = renewals.get("contract", lost)
    assert contract["renewal_lost"] is True and contract["status"] == "生效"  # still running, already lost
    after = answer(renewals.records(), Actor.system(), "logo_churn", "all")
    assert (after.total.numerator, after.total.denominator, after.total.value) == (1, 2, Decimal("0.5"))
