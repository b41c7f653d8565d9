"""The demo's quotes: one in every status, a discount waiting in the admin's inbox, and a
leaving salesperson whose handover previews without changing anything; a restart adds none."""

from __future__ import annotations

import io

from trellis.builtin_apps.renewals.demo_quotes import LEAVER, REP
from trellis.cli.server import DEMO_ADMIN, DEMO_TENANT, prepare_demo
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.approvals.queries import pending_for
from trellis.runtime.handover import HandoverRequest
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices


def test_the_demo_shows_quotes_approvals_and_a_handover(installation: Installation) -> None:
    first = io.StringIO()
    prepare_demo(installation, first)
    assert "sample quotes: 7" in first.getvalue()

    services = TenantServices(installation)
    records = services.records(DEMO_TENANT)
    quotes = records.list(Actor.system(), "quote", PageRequest(first=100)).records
    assert {q["status"] for q in quotes} == {"草稿", "待审批", "已批准", "已驳回", "已接受", "已失效"}
    assert all(q["line_count"] > 0 for q in quotes)  # lines copied from each contract
    admin = services.users(DEMO_TENANT).actor_for(DEMO_ADMIN)
    waiting = pending_for(services.database(DEMO_TENANT), admin)
    assert [records.get(Actor.system(), "quote", r.record_id)["status"] for r in waiting] == ["待审批"]
    renewed = records.list(Actor.system(), "contract", PageRequest(where={"source_quote": {"_is_null": False}}))
    assert len(renewed.records) == 1  # the accepted quote's next term

    preview = services.handover(DEMO_TENANT).run(Actor.system(), HandoverRequest(LEAVER, REP, dry_run=True))
    moves = {m.object: m.records for m in preview.objects}
    assert moves["contract"] == 6 and moves["quote"] == 1 and moves["account"] >= 1
    unowned = records.list(Actor.system(), "contract", PageRequest(where={"owner_id": {"_eq": "system"}}))
    assert unowned.records == []  # the sales team owns the book: reminders have someone to go to
    assert services.channels(DEMO_TENANT).masked("email")["host"] == "127.0.0.1"
    director = services.users(DEMO_TENANT).actor_for("zhao.ting@demo.trellis").user_id
    assert next(u for u in services.users(DEMO_TENANT).list_users() if u.email == DEMO_ADMIN).manager_id == director
    third = io.StringIO()
    prepare_demo(installation, third)
    assert "sample quotes" not in third.getvalue()  # a restart adds nothing
