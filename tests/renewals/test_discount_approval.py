"""The quote_discount process, path by path: ≤ 10% none; 10–20% the manager; > 20% the manager
then a sales director; over ¥1,000,000 also every finance member. Pending quotes and their lines
cannot change; a rejection leaves 已驳回 with the comment in the history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.renewals.world import Renewals
from trellis.runtime.access import Actor
from trellis.runtime.errors import Conflict, Forbidden, InvalidInput, RuntimeProblem

REP, BOSS, DIRECTOR, FIN1, FIN2 = "rep@acme.test", "boss@acme.test", "director@acme.test", "fin1@acme.test", "fin2@acme.test"


def quote_with(renewals: Renewals, discount: str, price: str = "10000.00", quantity: int = 1) -> str:
    product = renewals.product(f"P{discount}{price}", price)
    return renewals.quote([{"product": product, "quantity": quantity, "list_price": price, "uplift_pct": "0",
                            "discount_pct": discount}])


def submit(renewals: Renewals, quote: str) -> dict[str, Any]:
    """The rep submits (status 待审批); the rule starts the approval, if one is needed."""
    renewals.records().update(renewals.actor(REP), "quote", quote, {"status": "待审批"})
    renewals.settle()
    return renewals.get("quote", quote)


def asked(renewals: Renewals, quote: str) -> list[str]:
    request = renewals.requests(quote)[-1]
    view = renewals.engine().get(Actor.system(), request["id"])
    emails = {v: k for k, v in renewals.ids.items()}
    return sorted(emails[t.approver_id] for t in view.tasks if t.step == view.step and t.status == "pending")


def approve(renewals: Renewals, quote: str, who: str) -> None:
    renewals.engine().approve(renewals.actor(who), renewals.requests(quote)[-1]["id"], "同意")


def test_up_to_ten_percent_needs_no_approval(renewals: Renewals) -> None:
    quote = quote_with(renewals, "10")
    found = submit(renewals, quote)
    assert found["status"] == "已批准" and found["approved_on"] is not None
    assert renewals.requests(quote) == []


def test_ten_to_twenty_percent_asks_the_manager(renewals: Renewals) -> None:
    quote = quote_with(renewals, "15")
    assert submit(renewals, quote)["status"] == "待审批"
    assert asked(renewals, quote) == [BOSS]
    approve(renewals, quote, BOSS)
    assert renewals.get("quote", quote)["status"] == "已批准"


def test_over_twenty_percent_asks_the_manager_then_a_director(renewals: Renewals) -> None:
    quote = quote_with(renewals, "25")
    submit(renewals, quote)
    assert asked(renewals, quote) == [BOSS]
    approve(renewals, quote, BOSS)
    assert asked(renewals, quote) == [DIRECTOR]
    assert renewals.get("quote", quote)["status"] == "待审批"
    approve(renewals, quote, DIRECTOR)
    assert renewals.get("quote", quote)["status"] == "已批准"


def test_over_a_million_needs_every_finance_member(renewals: Renewals) -> None:
    quote = quote_with(renewals, "5", price="600000.00", quantity=2)  # ¥1,140,000 at 5%: no discount step
    submit(renewals, quote)
    assert asked(renewals, quote) == [FIN1, FIN2]
    approve(renewals, quote, FIN1)
    assert renewals.get("quote", quote)["status"] == "待审批"  # all of them
    approve(renewals, quote, FIN2)
    assert renewals.get("quote", quote)["status"] == "已批准"


def test_a_big_discount_on_a_big_quote_walks_every_step(renewals: Renewals) -> None:
    quote = quote_with(renewals, "30", price="800000.00", quantity=2)
    submit(renewals, quote)
    for step in ([BOSS], [DIRECTOR], [FIN1, FIN2]):
        assert asked(renewals, quote) == step
        for who in step:
            approve(renewals, quote, who)
    assert renewals.get("quote", quote)["status"] == "已批准"


def test_rejected_with_a_comment(renewals: Renewals) -> None:
    quote = quote_with(renewals, "15")
    submit(renewals, quote)
    request = renewals.requests(quote)[-1]["id"]
    with pytest.raises(InvalidInput):
        renewals.engine().reject(renewals.actor(BOSS), request, None)  # a rejection says why
    view = renewals.engine().reject(renewals.actor(BOSS), request, "折扣过高，请降到 10% 以内")
    assert renewals.get("quote", quote)["status"] == "已驳回"
    assert [e.detail["comment"] for e in view.events if e.event == "rejected" and e.detail] == ["折扣过高，请降到 10% 以内"]
    assert [(t.status, t.comment) for t in view.tasks] == [("rejected", "折扣过高，请降到 10% 以内")]
    renewals.records().update(renewals.actor(REP), "quote", quote, {"valid_until": "2026-12-31"})  # unlocked


def test_a_pending_quote_and_its_lines_cannot_change(renewals: Renewals) -> None:
    quote = quote_with(renewals, "15")
    submit(renewals, quote)
    rep = renewals.actor(REP)
    with pytest.raises((Conflict, Forbidden, InvalidInput)):
        renewals.records().update(rep, "quote", quote, {"valid_until": "2026-12-31"})
    line = renewals.find("quote_line", quote=quote)[0]
    with pytest.raises(InvalidInput, match="明细不能再修改"):
        renewals.records().update(rep, "quote_line", line["id"], {"discount_pct": "5"})
    approve(renewals, quote, BOSS)
    with pytest.raises(RuntimeProblem):
        renewals.records().update(rep, "quote_line", line["id"], {"discount_pct": "5"})  # approved: still frozen
