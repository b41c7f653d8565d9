"""The demo's quotes: one in every status, a discount waiting in the admin's inbox, and a
leaving salesperson whose handover previews without changing anything."""

from __future__ import annotations

from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.builtin_apps.renewals.demo_quotes import LEAVER, REP, generate_quotes
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.approvals.queries import pending_for
from trellis.runtime.handover import HandoverRequest
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices


def test_demo_quotes(installation: Installation) -> None:
    installation.create_tenant("demo", timezone_name="Asia/Shanghai", locale="zh-CN")
    services = TenantServices(installation)
    services.store("demo").publish(load_folder(APP_FOLDER), author="test")
    generate(services.records("demo"))
    services.users("demo").create_user("admin@demo.trellis", roles=["admin"])
    counts = generate_quotes(services, "demo", "admin@demo.trellis")
    records = services.records("demo")
    quotes = records.list(Actor.system(), "quote", PageRequest(first=100)).records
    assert counts["quote"] == len(quotes) == 7
    assert {q["status"] for q in quotes} == {"草稿", "待审批", "已批准", "已驳回", "已接受", "已失效"}
    assert all(q["line_count"] > 0 for q in quotes)  # lines copied from each contract
    admin = services.users("demo").actor_for("admin@demo.trellis")
    waiting = pending_for(services.database("demo"), admin)
    assert [records.get(Actor.system(), "quote", r.record_id)["status"] for r in waiting] == ["待审批"]
    renewed = records.list(Actor.system(), "contract", PageRequest(where={"source_quote": {"_is_null": False}}))
    assert len(renewed.records) == 1  # the accepted quote's next term

    preview = services.handover("demo").run(Actor.system(), HandoverRequest(LEAVER, REP, dry_run=True))
    moves = {m.object: m.records for m in preview.objects}
    assert moves["contract"] == 6 and moves["quote"] == 1 and moves["account"] >= 1
