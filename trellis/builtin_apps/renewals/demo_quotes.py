"""Sample quotes for the renewals demo: a sales team, a quote in every status, a pending
discount approval in the admin's inbox, and a leaving salesperson whose handover can be previewed.

Needs renewals 1.2.0 (quotes, the sales roles), `demo_data.generate`'s contracts and the admin; a
demo tenant installed at 1.0.0 gets them once upgraded. Every step is
what a user would do, through the records service and the app's rules (lines copied from the
contract with the product's uplift, approvals started by submitting); the dispatcher performs the
queued rule actions in between, as the worker would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from trellis.platform.clock import Clock, utc_now
from trellis.runtime.access import SYSTEM_USER, Actor
from trellis.runtime.approvals.queries import pending_for
from trellis.runtime.automation.dispatcher import Dispatcher
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices, write_hooks

TEAM = [  # email, name, roles, reports to the admin
    ("li.na@demo.trellis", "李娜", ["sales_rep"], True),
    ("zhou.jie@demo.trellis", "周杰（离职中）", ["sales_rep"], True),
    ("zhao.ting@demo.trellis", "赵婷", ["sales_director"], False),
    ("qian.wei@demo.trellis", "钱伟", ["finance"], False),
]
REP, LEAVER = TEAM[0][0], TEAM[1][0]
#: status wanted → the discount on every line, and how the quote gets there
PLAN = [("草稿", "0"), ("待审批", "15"), ("已批准", "5"), ("已驳回", "25"), ("已接受", "0"), ("已失效", "0")]


def generate_quotes(services: TenantServices, tenant: str, admin_email: str, clock: Clock = utc_now,
                    progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Create the team, the quotes and the leaver's book; returns counts. The admin must exist."""
    users = services.users(tenant)
    for email, name, roles, reports in TEAM:
        users.create_user(email, name=name, roles=roles)
        if reports:
            users.set_manager(email, admin_email)
    records = services.records(tenant, clock)
    system, rep = Actor.system(), users.actor_for(REP)
    live = records.list(system, "contract", PageRequest(where={"status": {"_eq": "生效"}}, first=100)).records
    ids = {email: users.actor_for(email).user_id for email, *_ in TEAM}
    mine, leavers = live[:len(PLAN)], live[len(PLAN):len(PLAN) + 6]
    for contract in mine:
        own(records, contract, ids[REP])
    for contract in leavers:
        own(records, contract, ids[LEAVER])
    quotes = [records.create(system, "quote", {
        "name": f"{c['name']} 续约报价", "account": c["account"], "contract": c["id"], "owner_id": ids[REP],
        "valid_until": (records.context().today + timedelta(days=30)).isoformat()})["id"] for c in mine]
    _dispatch(services, tenant, clock)  # the lines, copied from each contract
    for quote, (status, discount) in zip(quotes, PLAN, strict=True):
        _walk(services, tenant, clock, records, rep, users.actor_for(admin_email), quote, status, discount)
    records.create(system, "quote", {"name": f"{leavers[0]['name']} 续约报价", "account": leavers[0]["account"],
                                     "contract": leavers[0]["id"], "owner_id": ids[LEAVER]})
    _dispatch(services, tenant, clock)
    progress(f"quote: {len(quotes) + 1}")
    return {"quote": len(quotes) + 1, "leaver_contracts": len(leavers)}


def own(records: Any, contract: dict[str, Any], owner: str) -> None:
    """The contract and its opportunities belong to `owner`, and its account too unless another
    rep already holds it (a customer with several contracts keeps its first owner)."""
    system = Actor.system()
    records.update(system, "contract", contract["id"], {"owner_id": owner})
    if records.get(system, "account", contract["account"])["owner_id"] == SYSTEM_USER:
        records.update(system, "account", contract["account"], {"owner_id": owner})
    for opportunity in records.list(system, "renewal_opportunity", PageRequest(
            where={"contract": {"_eq": contract["id"]}})).records:
        records.update(system, "renewal_opportunity", opportunity["id"], {"owner_id": owner})


def _walk(services: TenantServices, tenant: str, clock: Clock, records: Any, rep: Actor, admin: Actor, quote: str,
          status: str, discount: str) -> None:
    """Take one quote to `status` the way its people would."""
    lines = records.list(Actor.system(), "quote_line", PageRequest(where={"quote": {"_eq": quote}})).records
    if discount != "0":
        for line in lines:
            records.update(rep, "quote_line", line["id"], {"discount_pct": discount})
    if status == "草稿":
        return
    if status == "已失效":
        records.update(rep, "quote", quote, {"status": "已失效"})
        return
    records.update(rep, "quote", quote, {"status": "待审批"})
    _dispatch(services, tenant, clock)  # starts the approval when the discount needs one
    if status == "已驳回":
        engine = services.approvals(tenant, clock)
        request = next(r for r in pending_for(services.database(tenant), admin, 50) if r.record_id == quote)
        engine.reject(admin, request.id, "折扣超过 20%，请与客户重新沟通")
    if status == "已接受":
        records.update(rep, "quote", quote, {"status": "已接受"})
        _dispatch(services, tenant, clock)  # wins the opportunity, starts the next term with its lines


def _dispatch(services: TenantServices, tenant: str, clock: Clock) -> None:
    """Perform the queued rule actions, as the worker would (a chain of rules takes a few rounds)."""
    found = services.tenant(tenant)
    for _ in range(4):
        report = Dispatcher(services.database(tenant), services.registry(tenant), ZoneInfo(found.timezone),
                            found.locale, clock, hooks=write_hooks(), secrets=services.installation.secrets,
                            outbound=services.outbound).run()
        if not report.sent:
            return
