"""Renewals 1.3.0 on both databases: the P1 churn warning fires only when the account's next
renewal (a date roll-up: the earliest end of an active contract) is within 90 days, and the
upgrade from 1.2.0 moves accounts of the tier 重要 to 重点 and fills the new roll-up, without a
destructive step."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.renewals.test_timed_rules import at
from tests.renewals.world import TENANT, Renewals
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.metadata.packages import read_package
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.apps.install import apply_upgrade, install, installed, plan_upgrade
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.services import TenantServices

RENEWALS = read_package(APP_FOLDER)
KEY_WELCOME = {"object": "account", "trigger": {"type": "record", "events": ["updated"], "fields": ["tier"]},
               "condition": "tier == '重要'",
               "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                            "subject": "{{ record.name }} 升为重点客户", "body": "请安排拜访。"}]}


def test_the_p1_warning_waits_for_a_renewal_within_90_days(renewals: Renewals) -> None:
    renewals.clock.now = at(date(2026, 2, 28), 12)
    crm = renewals.product("CRM", "100.00")
    ends = {"near": "2026-05-29", "far": "2026-12-31", "none": "2026-05-29"}  # 89 days from 03-01; 305 days
    accounts = {}
    for name, end in ends.items():
        contract = renewals.contract([(crm, 1, "100.00", "0")], number=name, start="2025-06-01", end=end)
        accounts[name] = renewals.get("contract", contract)["account"]
        if name == "none":  # its only contract is no longer active: no renewal ahead
            renewals.records().update(Actor.system(), "contract", contract, {"status": "已终止"})
    assert renewals.get("account", accounts["near"])["next_renewal_date"] == date(2026, 5, 29)
    assert renewals.get("account", accounts["none"])["next_renewal_date"] is None
    tickets = {name: renewals.records().create(Actor.system(), "support_ticket", {
        "account": account, "subject": f"宕机 {name}", "priority": "P1", "status": "处理中",
        "opened_on": "2026-02-22"})["id"] for name, account in accounts.items()}
    renewals.settle()
    renewals.clock.now = at(date(2026, 3, 1), 10)  # 7 days after opening, past 09:00
    renewals.settle()
    with renewals.services.database(TENANT).read() as conn:
        warned = set(conn.execute(select(deliveries.c.record_id).where(
            deliveries.c.rule == "churn_warning_p1", deliveries.c.kind == "create_task")).scalars())
    assert warned == {tickets["near"]}


def test_the_upgrade_from_1_2_renames_the_tier_and_fills_the_next_renewal(installation: Installation) -> None:
    installation.create_tenant(TENANT, timezone_name="Asia/Shanghai", locale="zh-CN")
    services = TenantServices(installation)
    store = services.store(TENANT)
    install(store, RENEWALS.load("1.2.0"), author="test")
    records = services.records(TENANT, lambda: datetime(2026, 3, 1, 1, tzinfo=UTC))
    system = Actor.system()
    key = records.create(system, "account", {"name": "重要客户"})["id"]
    small = records.create(system, "account", {"name": "小客户"})["id"]
    for account, amount in ((key, "60000.00"), (small, "1000.00")):
        records.create(system, "contract", {"number": f"HT-{amount}", "name": "年度服务", "account": account,
                                            "status": "生效", "start_date": "2025-07-01", "end_date": "2026-06-30",
                                            "amount": amount})
        records.update(system, "account", account, {"name": records.get(system, "account", account)["name"]})
    assert records.get(system, "account", key)["tier"] == "重要"  # assign_tier: 50,000 or more

    own = MetadataSet({**dict(store.current().metadata.items()),  # type: ignore[union-attr]
                       ("workflow_rule", "key_account_welcome"): KEY_WELCOME})
    store.publish(own, author="test")  # the tenant's own rule, naming the tier's old choice
    with pytest.raises(MetadataInvalid) as caught:
        apply_upgrade(store, plan_upgrade(store, RENEWALS.load("1.3.0")), author="test")
    assert [(e.file, e.path) for e in caught.value.errors] == [("workflow_rules/key_account_welcome.json",
                                                               "$.condition")]
    assert "a choice account.tier renames to '重点'" in caught.value.errors[0].message
    assert installed(store).versions == {"renewals": "1.2.0"}  # nothing changed
    fixed = MetadataSet({**dict(store.current().metadata.items()),  # type: ignore[union-attr]
                         ("workflow_rule", "key_account_welcome"): {**KEY_WELCOME, "condition": "tier == '重点'"}})
    store.publish(fixed, author="test")

    plan = plan_upgrade(store, RENEWALS.load("1.3.0"))
    dry = apply_upgrade(store, plan, author="test", dry_run=True)
    assert not dry.plan.destructive_steps
    assert "  rename choices of obj_account.tier: 重要 -> 重点 (records holding them are updated)" in dry.plan.lines()
    assert "  note: account.next_renewal_date: roll-up computed for the existing records" in dry.plan.lines()
    apply_upgrade(store, plan, author="test")
    assert installed(store).versions == {"renewals": "1.3.0"}

    after = services.records(TENANT, lambda: datetime(2026, 3, 1, 1, tzinfo=UTC))
    moved = after.get(system, "account", key)
    assert (moved["tier"], moved["next_renewal_date"]) == ("重点", date(2026, 6, 30))
    assert after.get(system, "account", small)["tier"] == "普通"
    after.update(system, "account", key, {"name": "重点客户"})  # the rule now assigns the new name
    assert after.get(system, "account", key)["tier"] == "重点"
    rule = after.registry.metadata.documents("workflow_rule")["key_renewal_reminder"]
    assert "account.tier == '重点'" in rule["condition"]
