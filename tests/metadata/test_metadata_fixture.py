"""The shared CRM fixture (tests/fixtures/crm) loads cleanly and means what other tests rely on."""

from __future__ import annotations

import json
from pathlib import Path

from trellis.metadata import FieldType, load_folder
from trellis.metadata.documents import pretty_json

FIXTURE = Path(__file__).parents[1] / "fixtures" / "crm"


def test_fixture_loads_without_errors() -> None:
    metadata = load_folder(FIXTURE)
    assert metadata.names("object") == ["account", "contact", "contract", "contract_line", "product", "ticket"]


def test_fixture_files_are_pretty_printed_utf8() -> None:
    for file in (FIXTURE / "objects").glob("*.json"):
        text = file.read_text("utf-8")
        assert text == pretty_json(json.loads(text)), file.name
    assert "客户" in (FIXTURE / "objects" / "account.json").read_text("utf-8")


def test_fixture_relations() -> None:
    objects = load_folder(FIXTURE).objects
    lookups = {
        (name, f.name): f.ref for name, obj in objects.items() for f in obj.fields.values() if f.type is FieldType.LOOKUP
    }
    assert lookups == {
        ("contact", "account"): "account",
        ("contract", "account"): "account",
        ("contract_line", "contract"): "contract",
        ("contract_line", "product"): "product",
        ("ticket", "account"): "account",
        ("ticket", "contact"): "contact",
    }


def test_fixture_field_types_and_formulas() -> None:
    objects = load_folder(FIXTURE).objects
    account, contract, line = objects["account"], objects["contract"], objects["contract_line"]
    assert account.fields["tier"].choices == ("战略", "重要", "普通")
    assert account.label == {"en": "Account", "zh-CN": "客户"}
    assert account.fields["regions"].type is FieldType.MULTI_ENUM
    assert contract.fields["amount"].type is FieldType.CURRENCY
    assert objects["product"].fields["list_price"].type is FieldType.CURRENCY
    assert line.fields["unit_price"].type is FieldType.CURRENCY
    assert contract.fields["start_date"].type is contract.fields["end_date"].type is FieldType.DATE
    assert contract.fields["signed_at"].type is FieldType.DATETIME
    assert objects["contact"].fields["email"].type is FieldType.EMAIL
    assert objects["contact"].fields["mobile"].type is FieldType.PHONE
    assert account.fields["website"].type is FieldType.URL
    assert line.fields["line_total"].formula == "quantity * unit_price" and line.fields["line_total"].stored
    assert contract.fields["days_to_end"].live and not contract.fields["days_to_end"].stored
    assert contract.fields["amount"].track_history
    assert {"number", "account", "end_date", "amount"} <= {f.name for f in contract.fields.values() if f.required}
    unique = [index.fields for index in contract.indexes if index.unique]
    assert unique == [("number",)]
    assert ("account", "end_date") in [index.fields for index in contract.indexes]
