"""Publishing: releases, storage plans and their effect on real tables, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.helpers import insert_records, metadata_set, obj, rows, schema_snapshot
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.runtime.releases import DestructiveChangeRefused, MetadataStore

ACCOUNT = obj(
    {
        "name": {"type": "string", "maxLength": 100, "x-label": {"en": "Name", "zh-CN": "名称"}},
        "tier": {"type": "string", "enum": ["战略", "重要", "普通"], "x-index": True},
        "employees": {"type": "integer"},
    },
    required=["name"],
)
CONTRACT = obj(
    {
        "number": {"type": "string", "x-unique": True},
        "account": {"type": "string", "x-ref": "account"},
        "amount": {"type": "number", "x-kind": "currency"},
        "end_date": {"type": "string", "format": "date"},
        "notes": {"type": "string", "x-kind": "textarea"},
    },
)


def publish(store: MetadataStore, allow: bool = False, **objects):  # type: ignore[no-untyped-def]
    return store.publish(metadata_set(**objects), author="test", message="m", allow_destructive=allow)


@pytest.fixture
def store(tenant_db: Database) -> MetadataStore:
    return MetadataStore(tenant_db)


def test_first_publish_creates_tables_with_standard_columns_indexes_and_foreign_keys(store: MetadataStore):
    result = publish(store, account=ACCOUNT, contract=CONTRACT)
    assert result.release is not None and result.release.number == 1
    snap = schema_snapshot(store.db)
    contract = snap["obj_contract"]
    names = [c[0] for c in contract["columns"]]
    assert names[:7] == ["id", "created_at", "updated_at", "created_by", "owner_id", "version", "deleted_at"]
    assert names[7:] == ["number", "account", "amount", "end_date", "notes"]
    assert ("fk_contract__account", ("account",), "obj_account") in contract["fks"]
    indexes = {i[0]: i for i in contract["indexes"]}
    assert indexes["ix_contract__account"][1:] == (("account",), False)  # lookups are indexed
    assert indexes["ux_contract__number"][1:] == (("number",), True)
    assert "ix_account__tier" in {i[0] for i in snap["obj_account"]["indexes"]}


def test_publishing_the_same_set_again_says_no_changes(store: MetadataStore):
    publish(store, account=ACCOUNT, contract=CONTRACT)
    again = publish(store, account=ACCOUNT, contract=CONTRACT)
    assert again.no_changes and again.release is None
    assert [r.number for r in store.history()] == [1]


def test_money_is_exact_through_storage(store: MetadataStore):
    publish(store, account=ACCOUNT, contract=CONTRACT)
    metadata = store.current().metadata  # type: ignore[union-attr]
    insert_records(store.db, metadata, "contract", [
        {"id": "c1", "amount": Decimal("1234567890123.45")}, {"id": "c2", "amount": Decimal("0.10")},
        {"id": "c3", "amount": Decimal("0.20")}])
    from sqlalchemy import func, select

    from trellis.runtime.storage import build_tables
    table = build_tables(metadata.objects)["contract"]
    with store.db.read() as conn:
        total = conn.execute(select(func.sum(table.c.amount))).scalar()
    assert total == Decimal("1234567890123.75")
    assert read_values(store, "contract", "amount")[0] == (Decimal("1234567890123.45"),)


def test_added_field_and_object_apply_automatically_and_keep_rows(store: MetadataStore):
    publish(store, account=ACCOUNT)
    insert_records(store.db, store.current().metadata, "account", [{"id": "a1", "name": "甲公司"}])  # type: ignore[union-attr]
    account2 = obj({**ACCOUNT["properties"], "website": {"type": "string", "format": "uri"}}, required=["name"])
    result = publish(store, account=account2, contract=CONTRACT)
    assert not result.plan.destructive_steps
    described = [s.describe() for s in result.plan.steps]
    assert "create table obj_contract" in described
    assert "add column obj_account.website" in described
    assert rows(store.db, "SELECT id, name, website FROM obj_account") == [("a1", "甲公司", None)]


def test_removing_a_field_is_refused_then_kept_aside_when_allowed(store: MetadataStore):
    publish(store, account=ACCOUNT, contract=CONTRACT)
    insert_records(store.db, store.current().metadata, "contract", [{"id": "c1", "notes": "keep me"}])  # type: ignore[union-attr]
    before = schema_snapshot(store.db)
    without_notes = obj({k: v for k, v in CONTRACT["properties"].items() if k != "notes"})
    with pytest.raises(DestructiveChangeRefused) as refused:
        publish(store, account=ACCOUNT, contract=without_notes)
    assert "notes" in str(refused.value) and "--allow-destructive" in str(refused.value)
    assert schema_snapshot(store.db) == before
    assert store.current_number() == 1

    publish(store, allow=True, account=ACCOUNT, contract=without_notes)
    assert rows(store.db, "SELECT id, notes__retired_r2 FROM obj_contract") == [("c1", "keep me")]
    # the field can come back: a fresh, empty column next to the retired one
    publish(store, account=ACCOUNT, contract=CONTRACT)
    assert rows(store.db, "SELECT notes, notes__retired_r2 FROM obj_contract") == [(None, "keep me")]


def test_removing_an_object_keeps_its_rows_aside_and_the_name_reusable(store: MetadataStore):
    publish(store, account=ACCOUNT, contract=CONTRACT)
    insert_records(store.db, store.current().metadata, "account", [{"id": "a1", "name": "甲"}])  # type: ignore[union-attr]
    insert_records(store.db, store.current().metadata, "contract", [{"id": "c1", "account": "a1"}])  # type: ignore[union-attr]
    with pytest.raises(DestructiveChangeRefused):
        publish(store, account=ACCOUNT)
    publish(store, allow=True, account=ACCOUNT)
    assert rows(store.db, "SELECT id, account FROM obj_contract__retired_r2") == [("c1", "a1")]
    publish(store, account=ACCOUNT, contract=CONTRACT)  # same name again: no index or key collides
    assert rows(store.db, "SELECT count(*) FROM obj_contract") == [(0,)]


def test_widening_type_change_converts_values_without_the_flag(store: MetadataStore):
    account = obj({**ACCOUNT["properties"], "discount": {"type": "number", "x-kind": "percent"}})
    publish(store, account=account)
    insert_records(store.db, store.current().metadata, "account",  # type: ignore[union-attr]
                   [{"id": "a1", "name": "x", "employees": 42, "discount": Decimal("12.25")}])
    widened = obj({**ACCOUNT["properties"], "employees": {"type": "number"},
                   "discount": {"type": "number", "x-kind": "currency"}})
    result = publish(store, account=widened)
    assert not result.plan.destructive_steps
    assert len([s for s in result.plan.steps if "change type" in s.describe()]) == 2
    assert read_values(store, "account", "employees", "discount") == [(42.0, Decimal("12.25"))]


def test_lossy_type_change_needs_the_flag_and_rounds_with_the_old_values_kept(store: MetadataStore):
    account = obj({**ACCOUNT["properties"], "discount": {"type": "number", "x-kind": "percent"}})
    publish(store, account=account)
    insert_records(store.db, store.current().metadata, "account",  # type: ignore[union-attr]
                   [{"id": "a1", "name": "x", "employees": 42, "discount": Decimal("12.25")}])
    lossy = obj({**ACCOUNT["properties"], "employees": {"type": "number", "x-kind": "currency"},
                 "discount": {"type": "integer"}})
    with pytest.raises(DestructiveChangeRefused, match="discount"):
        publish(store, account=lossy)
    publish(store, allow=True, account=lossy)
    assert read_values(store, "account", "employees", "discount") == [(Decimal("42.00"), 12)]
    assert rows(store.db, "SELECT employees__retired_r2 FROM obj_account") == [(42,)]


def test_narrowing_choices_is_destructive(store: MetadataStore):
    publish(store, account=ACCOUNT)
    narrowed = obj({**ACCOUNT["properties"], "tier": {"type": "string", "enum": ["战略", "普通"], "x-index": True}}, required=["name"])
    with pytest.raises(DestructiveChangeRefused, match="choices removed: 重要"):
        publish(store, account=narrowed)
    result = publish(store, allow=True, account=narrowed)
    assert [s.describe().split(":")[0] for s in result.plan.steps] == ["narrow obj_account.tier"]


def test_renaming_a_choice_moves_the_records_holding_it(store: MetadataStore):
    publish(store, account=ACCOUNT)
    insert_records(store.db, store.current().metadata, "account",  # type: ignore[union-attr]
                   [{"id": "a1", "name": "x", "tier": "重要"}, {"id": "a2", "name": "y", "tier": "普通"},
                    {"id": "a3", "name": "z", "tier": None}])
    renamed = obj({**ACCOUNT["properties"], "tier": {"type": "string", "enum": ["战略", "重点", "普通"], "x-index": True,
                                                     "x-renamed-choices": {"重点": "重要"}}}, required=["name"])
    plan = store.publish(metadata_set(account=renamed), author="test", dry_run=True).plan
    assert plan.lines() == ["  rename choices of obj_account.tier: 重要 -> 重点 (records holding them are updated)"]
    result = publish(store, account=renamed)  # not destructive: nothing is left outside the picklist
    assert [s.describe().split(":")[0] for s in result.plan.steps] == ["rename choices of obj_account.tier"]
    assert rows(store.db, "SELECT id, tier, version FROM obj_account ORDER BY id") == [
        ("a1", "重点", 2), ("a2", "普通", 1), ("a3", None, 1)]
    again = publish(store, account=renamed)  # the keyword is harmless once published
    assert again.release is None or not again.plan.steps


def test_a_choice_rename_is_refused_while_an_expression_still_compares_with_the_old_choice(store: MetadataStore):
    publish(store, account=ACCOUNT)
    stale = obj({**ACCOUNT["properties"],
                 "tier": {"type": "string", "enum": ["战略", "重点", "普通"], "x-renamed-choices": {"重点": "重要"}},
                 "is_key": {"type": "boolean", "readOnly": True, "x-formula": "tier == '重要' or tier == '战略'"}},
                required=["name"])
    with pytest.raises(MetadataInvalid) as caught:
        publish(store, account=stale)
    assert [(e.file, e.path) for e in caught.value.errors] == [("objects/account.json", "$.properties.is_key.x-formula")]
    assert "still compares with '重要', a choice account.tier renames to '重点'" in caught.value.errors[0].message
    stale["properties"]["is_key"]["x-formula"] = "tier == '重点' or tier == '战略'"
    assert publish(store, account=stale).release is not None


def test_a_choice_rename_must_name_a_choice_and_a_removed_one(store: MetadataStore):
    bad = obj({**ACCOUNT["properties"], "tier": {"type": "string", "enum": ["战略", "重点", "重要", "普通"],
                                                 "x-renamed-choices": {"重点": "重要", "钻石": "金"}}})
    with pytest.raises(MetadataInvalid) as caught:
        publish(store, account=bad)
    found = {e.path: e.message for e in caught.value.errors}
    assert "'重要' is still a choice of this field" in found["$.properties.tier.x-renamed-choices.重点"]
    assert "'钻石' is not a choice of this field" in found["$.properties.tier.x-renamed-choices.钻石"]
    words = obj({**ACCOUNT["properties"], "name": {"type": "string", "x-renamed-choices": {"a": "b"}}})
    with pytest.raises(MetadataInvalid, match="x-renamed-choices does not apply to a string field"):
        publish(store, account=words)


def read_values(store: MetadataStore, object_name: str, *fields: str) -> list[tuple[object, ...]]:
    from sqlalchemy import select

    from trellis.runtime.storage import build_tables
    table = build_tables(store.current().metadata.objects)[object_name]  # type: ignore[union-attr]
    with store.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(*(table.c[f] for f in fields)).order_by(table.c.id))]


def test_failure_half_way_leaves_release_and_tables_untouched(store: MetadataStore):
    publish(store, account=ACCOUNT, contract=CONTRACT)
    insert_records(store.db, store.current().metadata, "contract", [{"id": "c1", "notes": "n"}])  # type: ignore[union-attr]
    before, history = schema_snapshot(store.db), store.history()
    evolved_account = obj({**ACCOUNT["properties"], "website": {"type": "string"}}, required=["name"])
    evolved_contract = obj({k: v for k, v in CONTRACT["properties"].items() if k != "notes"}
                           | {"owner": {"type": "string", "x-ref": "account"}})
    ticket = obj({"subject": {"type": "string"}, "account": {"type": "string", "x-ref": "account"}})
    new = metadata_set(account=evolved_account, contract=evolved_contract, ticket=ticket)
    plan_length = len(store.publish(new, author="t", dry_run=True, allow_destructive=True).plan.steps)
    assert plan_length >= 5
    for fail_at in range(plan_length):
        def boom(i: int, step: object, fail_at: int = fail_at) -> None:
            if i == fail_at:
                raise RuntimeError(f"injected failure after step {i}")
        with pytest.raises(RuntimeError, match="injected"):
            store.publish(new, author="t", allow_destructive=True, on_step=boom)
        assert schema_snapshot(store.db) == before, f"storage changed after failing at step {fail_at}"
        assert store.history() == history
        assert rows(store.db, "SELECT id, notes FROM obj_contract") == [("c1", "n")]
    store.publish(new, author="t", allow_destructive=True)
    assert store.current_number() == 2


def test_child_rows_survive_a_rebuild_of_their_parents_table(store: MetadataStore):
    # contact is the parent of ticket; adding a lookup to contact rebuilds obj_contact on SQLite
    contact = obj({"name": {"type": "string"}})
    ticket = obj({"subject": {"type": "string"}, "contact": {"type": "string", "x-ref": "contact"}})
    publish(store, account=ACCOUNT, contact=contact, ticket=ticket)
    metadata = store.current().metadata  # type: ignore[union-attr]
    insert_records(store.db, metadata, "account", [{"id": "a1", "name": "甲"}])
    insert_records(store.db, metadata, "contact", [{"id": "p1", "name": "张三"}])
    insert_records(store.db, metadata, "ticket", [{"id": "t1", "subject": "help", "contact": "p1"}])
    contact2 = obj({"name": {"type": "string"}, "account": {"type": "string", "x-ref": "account"}})
    result = publish(store, account=ACCOUNT, contact=contact2, ticket=ticket)
    assert any(s.rebuilds_on_sqlite for s in result.plan.steps)
    assert rows(store.db, "SELECT id, contact FROM obj_ticket") == [("t1", "p1")]
    assert rows(store.db, "SELECT id, name, account FROM obj_contact") == [("p1", "张三", None)]
    snap = schema_snapshot(store.db)
    assert ("fk_contact__account", ("account",), "obj_account") in snap["obj_contact"]["fks"]
    assert "ix_contact__owner_id" in {i[0] for i in snap["obj_contact"]["indexes"]}
    # and the retired lookup loses its foreign key but keeps its values
    insert_records(store.db, store.current().metadata, "contact", [{"id": "p2", "account": "a1"}])  # type: ignore[union-attr]
    publish(store, allow=True, account=ACCOUNT, contact=contact, ticket=ticket)
    assert rows(store.db, "SELECT account__retired_r3 FROM obj_contact ORDER BY id") == [(None,), ("a1",)]
    assert schema_snapshot(store.db)["obj_contact"]["fks"] == []
    assert rows(store.db, "SELECT id FROM obj_ticket") == [("t1",)]


def test_new_objects_that_reference_each_other_are_created(store: MetadataStore):
    a = obj({"b": {"type": "string", "x-ref": "b_obj"}})
    b = obj({"a": {"type": "string", "x-ref": "a_obj"}})
    publish(store, a_obj=a, b_obj=b)
    snap = schema_snapshot(store.db)
    assert snap["obj_a_obj"]["fks"][0][2] == "obj_b_obj"
    assert snap["obj_b_obj"]["fks"][0][2] == "obj_a_obj"


def test_invalid_metadata_is_refused_before_anything_runs(store: MetadataStore):
    publish(store, account=ACCOUNT)
    before = schema_snapshot(store.db)
    broken = obj({"account": {"type": "string", "x-ref": "nowhere"}})
    with pytest.raises(MetadataInvalid, match="nowhere"):
        publish(store, account=ACCOUNT, contract=broken)
    assert schema_snapshot(store.db) == before and store.current_number() == 1


def test_history_diff_and_rollback(store: MetadataStore):
    publish(store, account=ACCOUNT)
    publish(store, account=ACCOUNT, contract=CONTRACT)
    assert [line.strip() for line in store.diff(1, 2).lines()] == ["+ object contract"]
    result = store.rollback(1, author="t", allow_destructive=True)
    assert result.release is not None and result.release.number == 3
    assert store.current().metadata == store.release(1).metadata  # type: ignore[union-attr]
    assert "obj_contract__retired_r3" in store.db.table_names()
    assert [r.source for r in store.history()][0] == "rollback:1"


def test_concurrent_publishes_of_the_same_set_make_one_release(tenant_db: Database):
    from concurrent.futures import ThreadPoolExecutor

    stores = [MetadataStore(tenant_db) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda s: publish(s, account=ACCOUNT, contract=CONTRACT), stores))
    assert sorted(r.release.number for r in results if r.release) == [1]
    assert sum(r.no_changes for r in results) == 3
    assert [r.number for r in stores[0].history()] == [1]


def test_standard_columns_match_the_names_expressions_may_read():
    from trellis.metadata.names import STANDARD_COLUMNS
    from trellis.runtime.storage import standard_columns
    assert [c.name for c in standard_columns()] == list(STANDARD_COLUMNS)


REMINDER = {
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-30, -7], "unit": "days"},
    "actions": [{"type": "notify", "channel": "in_app", "to": [{"field": "owner_id"}],
                 "subject": "{{ record.number }}", "body": "ends {{ record.end_date }}"}],
}


def test_a_date_rule_indexes_the_field_it_scans_as_a_step_of_the_plan(store: MetadataStore):
    """The scheduler searches the date by range on every tick: publishing indexes it, shown in the
    plan like any other step, and drops the index when no date rule scans the field any more."""
    publish(store, account=ACCOUNT, contract=CONTRACT)
    insert_records(store.db, metadata_set(account=ACCOUNT, contract=CONTRACT), "contract",
                   [{"id": f"c{i}", "number": f"HT-{i}", "end_date": date(2026, i, 1)} for i in range(1, 4)])
    with_rule = MetadataSet({**dict(metadata_set(account=ACCOUNT, contract=CONTRACT).items()),
                             ("workflow_rule", "reminder"): REMINDER})
    result = store.publish(with_rule, author="test", message="reminders")
    assert [step.describe() for step in result.plan.steps] == ["create index ix_contract__end_date on obj_contract"]
    indexes = {i[0]: i for i in schema_snapshot(store.db)["obj_contract"]["indexes"]}
    assert indexes["ix_contract__end_date"][1:] == (("end_date",), False)
    assert rows(store.db, "SELECT count(*) FROM obj_contract") == [(3,)]

    indexed = obj({**CONTRACT["properties"], "end_date": {"type": "string", "format": "date", "x-index": True}})
    asked = MetadataSet({**dict(with_rule.items()), ("object", "contract"): indexed})
    assert store.publish(asked, author="test").plan.steps == ()  # the same index, asked for by name now

    result = publish(store, account=ACCOUNT, contract=CONTRACT)  # rule gone, x-index gone
    assert [step.describe() for step in result.plan.steps] == ["drop index ix_contract__end_date on obj_contract"]


TICKET = obj({"subject": {"type": "string"}})


def _set_aside(store: MetadataStore) -> None:
    """Release 2 sets `contract.notes` aside, release 4 the `ticket` table (3 created it)."""
    publish(store, account=ACCOUNT, contract=CONTRACT)
    insert_records(store.db, store.current().metadata, "contract", [{"id": "c1", "notes": "n"}])  # type: ignore[union-attr]
    without_notes = obj({k: v for k, v in CONTRACT["properties"].items() if k != "notes"})
    publish(store, allow=True, account=ACCOUNT, contract=without_notes)
    publish(store, account=ACCOUNT, contract=without_notes, ticket=TICKET)
    publish(store, allow=True, account=ACCOUNT, contract=without_notes)


def test_purge_drops_what_was_kept_aside_and_records_it_as_a_release(store: MetadataStore):
    _set_aside(store)
    listed = store.purge(author="ops", dry_run=True)
    assert [s.describe() for s in listed.plan.steps] == [
        "drop column obj_contract.notes__retired_r2 (aside since release 2): its values are gone for good",
        "drop table obj_ticket__retired_r4 (aside since release 4): its rows are gone for good"]
    assert listed.release is None and store.current_number() == 4  # a dry run changes nothing
    assert store.purge(author="ops", older_than=timedelta(days=30)).plan.empty  # set aside just now

    later = MetadataStore(store.db, clock=lambda: datetime.now(UTC) + timedelta(days=31))
    done = later.purge(author="ops", older_than=timedelta(days=30))
    assert done.release is not None and done.release.number == 5 and done.release.source == "purge"
    assert done.release.author == "ops" and "2 item(s)" in done.release.message
    snap = schema_snapshot(store.db)
    assert "obj_ticket__retired_r4" not in snap
    assert [c[0] for c in snap["obj_contract"]["columns"]][-4:] == ["number", "account", "amount", "end_date"]
    assert rows(store.db, "SELECT id FROM obj_contract") == [("c1",)]  # the records themselves stay
    assert store.current().metadata == store.release(4).metadata  # type: ignore[union-attr]
    assert store.purge(author="ops").plan.empty


def test_an_interrupted_purge_leaves_everything_as_it_was(store: MetadataStore):
    _set_aside(store)
    before, history = schema_snapshot(store.db), store.history()
    for fail_at in range(2):
        def boom(i: int, step: object, fail_at: int = fail_at) -> None:
            if i == fail_at:
                raise RuntimeError(f"injected failure after step {i}")
        with pytest.raises(RuntimeError, match="injected"):
            store.purge(author="ops", on_step=boom)
        assert schema_snapshot(store.db) == before, f"storage changed after failing at step {fail_at}"
        assert store.history() == history
        assert rows(store.db, "SELECT notes__retired_r2 FROM obj_contract") == [("n",)]
