"""Field renames (`x-renamed-from`): the column is renamed in place with its values, foreign key,
indexes and history; references to the old name are refused with file and path; a failure at
any step leaves the previous release and every value. On both databases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.helpers import metadata_set, rows, schema_snapshot
from tests.runtime.crm import NOW, OBJECTS
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.runtime.access import Actor
from trellis.runtime.graphql.schema import build_schema
from trellis.runtime.identity import policy_for
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

REP_ROLE = {"objects": {"contract": {"read": "all", "update": "all", "fields": {"amount": "read"}},
                        "account": {"read": "all"}}}
RULE = {"object": "contract",
        "trigger": {"type": "record", "events": ["updated"], "fields": ["amount"], "timing": "before_save"},
        "condition": "amount > 1000", "actions": [{"type": "set_fields", "values": {"status": "'生效'"}}]}


def objects() -> dict[str, Any]:
    found = copy.deepcopy(OBJECTS)
    found["contract"]["properties"]["line_sum"] = {"type": "number", "x-kind": "currency", "readOnly": True,
                                                   "x-formula": "amount * 2"}
    return found


def with_amount_renamed(found: dict[str, Any], *, formula: str = "value * 2", condition: str = "value > 1000",
                        field_in_role: str = "value") -> MetadataSet:
    """`contract.amount` renamed `value`, with the formula, rule, role and roll-up that name it."""
    props = found["contract"]["properties"]
    props["value"] = {**props.pop("amount"), "x-renamed-from": "amount"}
    props["line_sum"]["x-formula"] = formula
    found["account"]["properties"]["contract_total"]["x-rollup"]["field"] = "value"
    role = {"objects": {**REP_ROLE["objects"], "contract": {**REP_ROLE["objects"]["contract"],
                                                           "fields": {field_in_role: "read"}}}}
    rule = {**RULE, "condition": condition, "trigger": {**RULE["trigger"], "fields": ["value"]}}
    return _set(found, role, rule)


def _set(found: dict[str, Any], role: dict[str, Any], rule: dict[str, Any]) -> MetadataSet:
    base = metadata_set(**found)
    items = {key: base[key] for key in base}
    items[("role", "rep")] = role
    items[("workflow_rule", "big_deal")] = rule
    return MetadataSet(items)


@pytest.fixture
def store(tenant_db: Database) -> MetadataStore:
    store = MetadataStore(tenant_db)
    store.publish(_set(objects(), REP_ROLE, RULE), author="test")
    return store


def service(store: MetadataStore) -> RecordsService:
    registry = build_registry("acme", store.current())  # type: ignore[arg-type]
    return RecordsService(store.db, registry, "Asia/Shanghai", "zh-CN", clock=lambda: NOW, hooks=write_hooks())


def contract(store: MetadataStore) -> str:
    records = service(store)
    account = records.create(Actor.system(), "account", {"name": "Acme"})["id"]
    made = records.create(Actor.system(), "contract", {"number": "C-1", "account": account, "amount": "500.25"})
    records.update(Actor.system(), "contract", made["id"], {"amount": "2000.50"})
    return str(made["id"])


def test_a_renamed_field_keeps_its_values_history_index_and_references(store: MetadataStore):
    record_id = contract(store)
    result = store.publish(with_amount_renamed(objects()), author="test")
    assert not result.plan.destructive_steps
    assert "rename obj_contract.amount to value (values and history kept)" in [line.strip() for line in result.plan.lines()]
    assert any("> field amount renamed to value" in line for line in result.diff.lines())

    records = service(store)
    found = records.get(Actor.system(), "contract", record_id)
    assert str(found["value"]) == "2000.50" and "amount" not in found
    assert str(found["line_sum"]) == "4001.00"  # the formula reads the new name
    assert found["status"] == "生效"  # the rule fired under the old name before the rename
    history = records.history(Actor.system(), "contract", record_id)
    assert [(h["field"], str(h["old_value"]), str(h["new_value"])) for h in history if h["field"] == "value"] \
        == [("value", "500.25", "2000.50")]
    account = records.get(Actor.system(), "account", found["account"])
    assert str(account["contract_total"]) == "2000.50"  # the roll-up sums the renamed column

    snapshot = schema_snapshot(store.db)["obj_contract"]
    assert "value" in [c[0] for c in snapshot["columns"]] and "amount" not in [c[0] for c in snapshot["columns"]]
    records.update(Actor.system(), "contract", record_id, {"value": "10"})  # writes go to the renamed column
    assert str(records.get(Actor.system(), "contract", record_id)["value"]) == "10.00"

    draft = records.create(Actor.system(), "contract", {"number": "C-2", "account": found["account"], "value": "5"})
    assert records.update(Actor.system(), "contract", draft["id"], {"value": "5000"})["status"] == "生效"  # the rule
    rep = policy_for(["rep"], store.current().metadata.documents("role"))  # type: ignore[union-attr]
    assert rep.can_read_field("contract", "value") and not rep.can_edit_field("contract", "value")  # the role

    contract_type = build_schema(records.registry)._schema.type_map["Contract"].fields  # type: ignore[attr-defined]
    assert "value" in contract_type and "amount" not in contract_type  # the API's next request

    again = store.publish(with_amount_renamed(objects()), author="test")  # the keyword stays harmless
    assert again.no_changes


def test_a_renamed_lookup_keeps_its_foreign_key_and_index(store: MetadataStore):
    record_id = contract(store)
    found = objects()
    props = found["contract"]["properties"]
    props["customer"] = {**props.pop("account"), "x-renamed-from": "account"}
    found["contract"]["required"] = ["number", "customer"]
    found["contract"]["properties"]["account_tier"]["x-formula"] = "customer.tier"
    found["account"]["properties"]["contract_total"]["x-rollup"]["via"] = "customer"
    store.publish(_set(found, REP_ROLE, RULE), author="test")
    snapshot = schema_snapshot(store.db)["obj_contract"]
    assert ("fk_contract__customer", ("customer",), "obj_account") in snapshot["fks"]
    assert "ix_contract__customer" in {i[0] for i in snapshot["indexes"]}
    assert "ix_contract__account" not in {i[0] for i in snapshot["indexes"]}
    got = service(store).get(Actor.system(), "contract", record_id)
    assert got["customer"] and got["account_tier"] == "普通"


@pytest.mark.parametrize("where", ["formula", "condition", "role"])
def test_a_reference_still_using_the_old_name_is_refused_with_its_path(store: MetadataStore, where: str):
    old = {"formula": {"formula": "amount * 2"}, "condition": {"condition": "amount > 1000"},
           "role": {"field_in_role": "amount"}}[where]
    with pytest.raises(MetadataInvalid) as refused:
        store.publish(with_amount_renamed(objects(), **old), author="test")
    places = {(e.file, e.path) for e in refused.value.errors}
    expected = {"formula": ("objects/contract.json", "$.properties.line_sum.x-formula"),
                "condition": ("workflow_rules/big_deal.json", "$.condition"),
                "role": ("roles/rep.json", "$.objects.contract.fields.amount")}[where]
    assert expected in places, refused.value.errors
    assert store.current_number() == 1


@pytest.mark.parametrize(("source", "words"), [
    ("amout", ("no field 'amout'", "'amount'")),
    ("number", ("'number' is still a field",)),
])
def test_a_rename_from_a_missing_or_remaining_field_is_refused(store: MetadataStore, source: str, words: tuple[str, ...]):
    found = objects()
    found["contract"]["properties"]["total"] = {"type": "number", "x-kind": "currency", "x-renamed-from": source}
    with pytest.raises(MetadataInvalid) as refused:
        store.publish(_set(found, REP_ROLE, RULE), author="test")
    [error] = refused.value.errors
    assert (error.file, error.path) == ("objects/contract.json", "$.properties.total.x-renamed-from")
    assert all(word in error.message for word in words), error.message


def fail_at_each_step(store: MetadataStore, new: MetadataSet, *queries: str) -> None:
    """Publish `new` failing after each step in turn: storage, history and what `queries` read
    must be as before every time; then publish it whole."""
    before, history = schema_snapshot(store.db), store.history()
    seen = [rows(store.db, q) for q in queries]
    steps = len(store.publish(new, author="t", dry_run=True).plan.steps)
    assert steps >= 1
    for fail_at in range(steps):
        def boom(i: int, step: object, fail_at: int = fail_at) -> None:
            if i == fail_at:
                raise RuntimeError(f"injected failure after step {i}")
        with pytest.raises(RuntimeError, match="injected"):
            store.publish(new, author="t", on_step=boom)
        assert schema_snapshot(store.db) == before, f"storage changed after failing at step {fail_at}"
        assert store.history() == history
        assert [rows(store.db, q) for q in queries] == seen
    store.publish(new, author="t")


def test_an_interrupted_rename_leaves_the_release_and_every_value(store: MetadataStore):
    record_id = contract(store)
    fail_at_each_step(store, with_amount_renamed(objects()), "SELECT id, amount FROM obj_contract",
                      "SELECT field, old_value, new_value FROM field_history ORDER BY changed_at")
    assert str(service(store).get(Actor.system(), "contract", record_id)["value"]) == "2000.50"


def agreement_set(x_ref: str = "agreement") -> MetadataSet:
    """`contract` renamed `agreement`, with every item that names it following."""
    found = objects()
    found["agreement"] = {**found.pop("contract"), "x-renamed-from": "contract"}
    found["account"]["properties"]["contract_total"]["x-rollup"]["object"] = "agreement"
    found["contract_line"]["properties"]["contract"]["x-ref"] = x_ref
    role = {"objects": {"agreement": REP_ROLE["objects"]["contract"], "account": {"read": "all"}}}
    return _set(found, role, {**RULE, "object": "agreement"})


def test_a_renamed_object_keeps_its_records_history_audit_and_the_lookups_to_it(store: MetadataStore):
    record_id = contract(store)
    service(store).create(Actor.system(), "contract_line", {"contract": record_id, "quantity": 2, "unit_price": "3"})
    audit_before = rows(store.db, "SELECT action FROM audit_log WHERE object = 'contract' ORDER BY at")
    result = store.publish(agreement_set(), author="test")
    assert not result.plan.destructive_steps, result.plan.lines()
    assert "rename table obj_contract to obj_agreement (records and history kept)" in [
        line.strip() for line in result.plan.lines()]
    assert "> object contract renamed to agreement" in result.diff.lines()

    records = service(store)
    found = records.get(Actor.system(), "agreement", record_id)
    assert str(found["amount"]) == "2000.50" and found["status"] == "生效"
    assert [h["field"] for h in records.history(Actor.system(), "agreement", record_id)] == ["amount"]
    assert rows(store.db, "SELECT action FROM audit_log WHERE object = 'agreement' ORDER BY at") == audit_before
    assert rows(store.db, "SELECT count(*) FROM audit_log WHERE object = 'contract'") == [(0,)]
    [line] = records.list(Actor.system(), "contract_line").records
    assert line["contract"] == record_id
    snapshot = schema_snapshot(store.db)
    assert "obj_contract" not in snapshot
    assert ("fk_agreement__account", ("account",), "obj_account") in snapshot["obj_agreement"]["fks"]
    assert ("fk_contract_line__contract", ("contract",), "obj_agreement") in snapshot["obj_contract_line"]["fks"]
    assert "ux_agreement__number" in {i[0] for i in snapshot["obj_agreement"]["indexes"]}
    with pytest.raises(Exception, match="unique|UNIQUE|duplicate"):  # the unique index came back under its new name
        records.create(Actor.system(), "agreement", {"number": "C-1", "account": found["account"]})
    assert store.publish(agreement_set(), author="test").no_changes


def test_an_object_rename_left_half_done_in_the_metadata_is_refused(store: MetadataStore):
    with pytest.raises(MetadataInvalid) as refused:
        store.publish(agreement_set(x_ref="contract"), author="test")
    assert ("objects/contract_line.json", "$.properties.contract.x-ref") in {
        (e.file, e.path) for e in refused.value.errors}
    found = objects()
    found["agreement"] = copy.deepcopy({**found["contract"], "x-renamed-from": "contract"})
    del found["agreement"]["properties"]["account"]["x-reverse"]  # one object per reverse name
    with pytest.raises(MetadataInvalid) as still_there:
        store.publish(_set(found, REP_ROLE, RULE), author="test")
    [error] = still_there.value.errors
    assert (error.file, error.path) == ("objects/agreement.json", "$.x-renamed-from")
    assert "'contract' is still an object" in error.message
    assert store.current_number() == 1


def test_an_interrupted_object_rename_leaves_everything(store: MetadataStore):
    record_id = contract(store)
    fail_at_each_step(store, agreement_set(), "SELECT object, record_id FROM audit_log ORDER BY at",
                      "SELECT object, field FROM field_history ORDER BY changed_at")
    assert str(service(store).get(Actor.system(), "agreement", record_id)["amount"]) == "2000.50"
