"""Loading folders of metadata: every malformed definition is reported with file, JSON path and a
sentence, and nothing else is reported beside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import load_errors
from trellis.metadata import (
    MetadataInvalid,
    MetadataSet,
    load_documents,
    load_folder,
    validate_set,
)
from trellis.metadata.documents import pretty_json

FIXTURE = Path(__file__).parents[1] / "fixtures" / "crm"

Docs = dict[str, dict[str, Any]]
Raw = dict[str, bytes]  # extra files to write, by path relative to the folder


def fixture_documents() -> Docs:
    return {f.stem: json.loads(f.read_text("utf-8")) for f in sorted((FIXTURE / "objects").glob("*.json"))}


def write_folder(folder: Path, documents: Docs, raw: Raw | None = None) -> Path:
    (folder / "objects").mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        (folder / "objects" / f"{name}.json").write_text(pretty_json(document), encoding="utf-8")
    for relative, data in (raw or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def nested(depth: int) -> bytes:
    return ('{"type": "object", "properties": ' + '{"a": ' * depth + "{}" + "}" * depth + "}").encode()


@dataclass(frozen=True)
class Case:
    """One malformed definition: a change to the CRM fixture and the error it must give."""

    id: str
    change: Callable[[Docs], Any]  # edits the documents in place; what it returns is ignored
    file: str
    path: str
    words: tuple[str, ...]
    alone: bool = True  # no error in any other file
    raw: Raw = field(default_factory=dict)  # files written as they are, after the documents


def prop(docs: Docs, obj: str, name: str) -> dict[str, Any]:
    return docs[obj]["properties"][name]


def add_field(obj: str, name: str, schema: dict[str, Any]) -> Callable[[Docs], None]:
    return lambda docs: docs[obj]["properties"].__setitem__(name, schema)


def set_key(obj: str, field_name: str | None, key: str, value: Any) -> Callable[[Docs], None]:
    """Set `key` on a field, or on the object itself when field_name is None."""
    return lambda docs: (docs[obj] if field_name is None else prop(docs, obj, field_name)).__setitem__(key, value)


def unchanged(docs: Docs) -> None:
    """For cases that only add raw files."""


def remove(obj: str) -> Callable[[Docs], None]:
    """For cases whose raw files replace a document."""
    return lambda docs: docs.pop(obj)


SMALL = {"type": "object", "properties": {"label": {"type": "string"}}}
ROLLUP = {"type": "number", "x-kind": "currency"}

CASES = [
    Case("wrong type", set_key("contract", "amount", "type", "money"),
         "objects/contract.json", "$.properties.amount.type", ("expected one of string", '"money"')),
    Case("type is a number", set_key("product", "list_price", "type", 7),
         "objects/product.json", "$.properties.list_price.type", ("expected", "got 7")),
    Case("nullable type written wrong", set_key("ticket", "satisfaction", "type", ["integer", "string"]),
         "objects/ticket.json", "$.properties.satisfaction.type[1]", ('"null"', '"string"')),
    Case("unknown x- keyword on a field", set_key("contract", "amount", "x-fromula", "1"),
         "objects/contract.json", "$.properties.amount.x-fromula", ("unknown keyword x-fromula", "x-formula")),
    Case("unknown x- keyword on an object", set_key("account", None, "x-colour", "red"),
         "objects/account.json", "$.x-colour", ("unknown keyword x-colour", "known: x-index")),
    Case("unknown plain keyword", set_key("product", "code", "const", "A"),
         "objects/product.json", "$.properties.code.const", ("unknown keyword const",)),
    Case("bad x-kind", set_key("contract", "amount", "x-kind", "money"),
         "objects/contract.json", "$.properties.amount.x-kind", ("expected one of textarea", '"money"')),
    Case("lookup to nowhere", set_key("ticket", "account", "x-ref", "acount"),
         "objects/ticket.json", "$.properties.account.x-ref", ("'acount'", "not an object", "did you mean 'account'")),
    Case("formula syntax error", set_key("contract_line", "line_total", "x-formula", "quantity * (unit_price"),
         "objects/contract_line.json", "$.properties.line_total.x-formula", ("syntax error", "column")),
    Case("formula unknown field", set_key("contract_line", "line_total", "x-formula", "quantity * unit_prise"),
         "objects/contract_line.json", "$.properties.line_total.x-formula", ("unknown field 'unit_prise'", "'unit_price'")),
    Case("formula escape payload", set_key("contract_line", "line_total", "x-formula", "().__class__.__bases__"),
         "objects/contract_line.json", "$.properties.line_total.x-formula", ("__bases__", "not allowed")),
    Case("formula cycle",
         lambda docs: (set_key("contract_line", "line_total", "x-formula", "net + quantity")(docs),
                       add_field("contract_line", "net", {"type": "number", "x-formula": "line_total * 0.9"})(docs)),
         "objects/contract_line.json", "$.properties.line_total.x-formula", ("formula cycle", "line_total -> net -> line_total")),
    Case("formula with a default", set_key("contract_line", "line_total", "default", 0),
         "objects/contract_line.json", "$.properties.line_total.default", ("computed", "default")),
    Case("formula field required", lambda docs: docs["contract_line"]["required"].append("line_total"),
         "objects/contract_line.json", "$.required[4]", ("'line_total' is computed",)),
    Case("clock formula indexed", set_key("contract", "days_to_end", "x-index", True),
         "objects/contract.json", "$.properties.days_to_end.x-index", ("reads the clock",)),
    Case("CamelCase file", unchanged,
         "objects/SalesRegion.json", "$", ("'SalesRegion'", "snake_case"),
         raw={"objects/SalesRegion.json": json.dumps(SMALL).encode()}),
    Case("reserved word object", unchanged,
         "objects/select.json", "$", ("'select'", "SQL"),
         raw={"objects/select.json": json.dumps(SMALL).encode()}),
    Case("standard column as a field", add_field("account", "id", {"type": "string"}),
         "objects/account.json", "$.properties.id", ("'id'", "standard column")),
    Case("reserved word field", add_field("contract", "order", {"type": "integer"}),
         "objects/contract.json", "$.properties.order", ("'order'", "SQL")),
    Case("function name field", add_field("contract", "today", {"type": "string", "format": "date"}),
         "objects/contract.json", "$.properties.today", ("function",)),
    Case("10 MB file", unchanged,
         "objects/huge.json", "$", ("10.0 MiB", "limit is 1.0 MiB"),
         raw={"objects/huge.json": b"{" + b" " * (10 * 1024 * 1024) + b"}"}),
    Case("nested 500 deep", unchanged,
         "objects/deep.json", "$", ("nested more than 64 levels",),
         raw={"objects/deep.json": nested(500)}),
    Case("nested 100000 deep", unchanged,
         "objects/deeper.json", "$", ("nested more than 64 levels",),
         raw={"objects/deeper.json": b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"}),
    Case("invalid JSON", remove("product"),
         "objects/product.json", "$", ("invalid JSON", "line 3", "delimiter"),
         raw={"objects/product.json": b'{\n  "type": "object"\n  "properties": {}\n}\n'}),
    Case("invalid UTF-8", remove("product"),
         "objects/product.json", "$", ("UTF-8", "0xff"),
         raw={"objects/product.json": b'{"type": "object", "title": "\xff\xfe", "properties": {}}'}),
    Case("NaN is not JSON", remove("product"),
         "objects/product.json", "$", ("NaN",),
         raw={"objects/product.json": b'{"type": "object", "properties": {}, "title": NaN}'}),
    Case("duplicate key", remove("product"),
         "objects/product.json", "$.properties", ("duplicate key 'a'",),
         raw={"objects/product.json": b'{"type": "object", "properties": {"a": {"type": "string"}, "a": {"type": "integer"}}}'}),
    Case("top level is a list", unchanged,
         "objects/things.json", "$", ("JSON object", "a list"),
         raw={"objects/things.json": b"[]"}),
    Case("not a .json file", unchanged,
         "objects/notes.txt", "$", (".json",),
         raw={"objects/notes.txt": b"hello"}),
    Case("unknown folder", unchanged,
         "workflows", "$", ("unknown folder 'workflows'", "objects"),
         raw={"workflows/renew.json": b"{}"}),
    Case("enum default outside the enum", set_key("account", "tier", "default", "VIP"),
         "objects/account.json", "$.properties.tier.default", ("default", '"VIP"', "战略")),
    Case("default of the wrong type", set_key("contract_line", "quantity", "default", "one"),
         "objects/contract_line.json", "$.properties.quantity.default", ("default", "integer", '"one"')),
    Case("invalid date default", set_key("contract", "start_date", "default", "2024-02-30"),
         "objects/contract.json", "$.properties.start_date.default", ("valid date",)),
    Case("nullable picklist without null", set_key("ticket", "priority", "type", ["string", "null"]),
         "objects/ticket.json", "$.properties.priority.enum", ("null",)),
    Case("duplicate names by case", unchanged,
         "objects/Account.json", "$", ("differ only by case",), alone=False,
         raw={"objects/Account.json": (FIXTURE / "objects/account.json").read_bytes()}),
    Case("currency on a string", set_key("contract", "name", "x-kind", "currency"),
         "objects/contract.json", "$.properties.name.x-kind", ("currency", "type number")),
    Case("minimum on a string", set_key("contract", "name", "minimum", 1),
         "objects/contract.json", "$.properties.name.minimum", ("does not apply", "string")),
    Case("array without enum items", set_key("ticket", "channels", "items", {"type": "string"}),
         "objects/ticket.json", "$.properties.channels.items", ('"enum"', "missing")),
    Case("array without items", add_field("ticket", "tags", {"type": "array"}),
         "objects/ticket.json", "$.properties.tags.type", ("unsupported field type", "multi-select")),
    Case("required names a missing field", lambda docs: docs["contract"]["required"].append("amout"),
         "objects/contract.json", "$.required[6]", ("'amout'", "not a field", "'amount'")),
    Case("field without type", lambda docs: prop(docs, "product", "name").pop("type"),
         "objects/product.json", "$.properties.name", ('"type"', "missing")),
    Case("x-index names an unknown field", set_key("account", None, "x-index", [["tier", "segment"]]),
         "objects/account.json", "$.x-index[0][1]", ("'segment'", "not a field")),
    Case("x-unique names an unknown field", set_key("product", None, "x-unique", [["code", "sku"]]),
         "objects/product.json", "$.x-unique[0][1]", ("x-unique", "'sku'")),
    Case("lookup with type integer", set_key("contact", "account", "type", "integer"),
         "objects/contact.json", "$.properties.account.type", ("lookup", "type string", "integer")),
    Case("x_id next to lookup x", add_field("contract", "account_id", {"type": "string"}),
         "objects/contract.json", "$.properties.account_id", ("lookup 'account'", "accountId")),
    Case("x-reverse without x-ref", set_key("contract", "name", "x-reverse", "names"),
         "objects/contract.json", "$.properties.name.x-reverse", ("x-ref", "missing")),
    Case("x-reverse equals a field of the target", set_key("contact", "account", "x-reverse", "tier"),
         "objects/contact.json", "$.properties.account.x-reverse", ("'tier'", "account")),
    Case("x-reverse used twice on one target", set_key("ticket", "account", "x-reverse", "contracts"),
         "objects/ticket.json", "$.properties.account.x-reverse", ("'contracts'", "contract.account"), alone=False),
    Case("x-label with a bad locale", set_key("account", "name", "x-label", {"EN": "Name"}),
         "objects/account.json", "$.properties.name.x-label", ("locale", '"EN"')),
    Case("rule without a message", lambda docs: docs["contract"]["x-rules"][0].pop("message"),
         "objects/contract.json", "$.x-rules[0]", ('"message"', "missing")),
    Case("rule condition unknown field", lambda docs: docs["ticket"]["x-rules"][0].update(condition="stauts == '新建'"),
         "objects/ticket.json", "$.x-rules[0].condition", ("'stauts'", "'status'")),
    Case("x-rollup via a non-lookup", add_field("account", "contract_total", {**ROLLUP, "x-rollup": {"object": "contract", "via": "name", "function": "sum", "field": "amount"}}),
         "objects/account.json", "$.properties.contract_total.x-rollup.via", ("'name'", "not a lookup")),
    Case("x-rollup via a lookup elsewhere", add_field("account", "line_total", {**ROLLUP, "x-rollup": {"object": "contract_line", "via": "product", "function": "sum", "field": "line_total"}}),
         "objects/account.json", "$.properties.line_total.x-rollup.via", ("points to 'product'", "not to 'account'")),
    Case("x-rollup of a text field", add_field("account", "status_sum", {**ROLLUP, "x-rollup": {"object": "contract", "via": "account", "function": "sum", "field": "status"}}),
         "objects/account.json", "$.properties.status_sum.x-rollup.field", ("'status'", "number")),
    Case("x-rollup sum without a field", add_field("account", "total", {**ROLLUP, "x-rollup": {"object": "contract", "via": "account", "function": "sum"}}),
         "objects/account.json", "$.properties.total.x-rollup", ("needs a field",)),
    Case("x-rollup date min of a number field", add_field("account", "first_amount", {"type": ["string", "null"], "format": "date", "x-rollup": {"object": "contract", "via": "account", "function": "min", "field": "amount"}}),
         "objects/account.json", "$.properties.first_amount.x-rollup.field", ("'amount'", "a date rollup needs a date field")),
    Case("x-rollup date min of a date-time field", add_field("account", "first_signed", {"type": ["string", "null"], "format": "date", "x-rollup": {"object": "contract", "via": "account", "function": "min", "field": "signed_at"}}),
         "objects/account.json", "$.properties.first_signed.x-rollup.field", ("'signed_at'", "date-time field", "needs a date field")),
    Case("x-rollup number max of a date field", add_field("account", "last_end", {**ROLLUP, "x-rollup": {"object": "contract", "via": "account", "function": "max", "field": "end_date"}}),
         "objects/account.json", "$.properties.last_end.x-rollup.field", ("'end_date'", "needs a number field")),
    Case("x-rollup date sum", add_field("account", "end_sum", {"type": ["string", "null"], "format": "date", "x-rollup": {"object": "contract", "via": "account", "function": "sum", "field": "end_date"}}),
         "objects/account.json", "$.properties.end_sum.x-rollup.function", ("date rollup takes the min or max", "sum gives a number")),
    Case("x-rollup into a text field", add_field("account", "end_text", {"type": "string", "x-rollup": {"object": "contract", "via": "account", "function": "max", "field": "end_date"}}),
         "objects/account.json", "$.properties.end_text.type", ("integer, number, currency or percent", "date or date-time for min/max", "string")),
    Case("x-rollup of a missing object", add_field("account", "deals", {"type": "integer", "x-rollup": {"object": "deal", "via": "account", "function": "count"}}),
         "objects/account.json", "$.properties.deals.x-rollup.object", ("'deal'", "does not exist")),
    Case("x-plural equal to another object", set_key("product", None, "x-plural", "contract"),
         "objects/product.json", "$.x-plural", ("another object",)),
    Case("an object named like a platform type", lambda docs: docs.update(task={"type": "object", "properties": {"title": {"type": "string"}}}),
         "objects/task.json", "$", ("GraphQL type 'Task'", "platform", "e.g. 'task_record'")),
    Case("an object whose generated type is a platform type", lambda docs: docs.update(approval_request={"type": "object", "properties": {"title": {"type": "string"}}}),
         "objects/approval_request.json", "$", ("'ApprovalRequest'", "platform")),
    Case("an object whose list query is the platform's", lambda docs: docs.update(notification_item={"type": "object", "x-plural": "notifications", "properties": {"title": {"type": "string"}}}),
         "objects/notification_item.json", "$.x-plural", ("queried as 'notifications'", "x-plural")),
    Case("an object named me", lambda docs: docs.update(me={"type": "object", "properties": {"title": {"type": "string"}}}),
         "objects/me.json", "$", ("queried as 'me'",)),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_definition(case: Case, tmp_path: Path) -> None:
    docs = fixture_documents()
    case.change(docs)
    errors = load_errors(write_folder(tmp_path, docs, case.raw))
    matching = [e for e in errors if e.file == case.file and e.path == case.path]
    assert matching, f"no error at {case.file} {case.path}; got:\n" + "\n".join(map(str, errors))
    assert any(all(word in e.message for word in case.words) for e in matching), "\n".join(map(str, matching))
    if case.alone:
        assert {e.file for e in errors} == {case.file}, "\n".join(map(str, errors))


def test_there_are_enough_malformed_cases() -> None:
    assert len(CASES) >= 25


def test_every_error_in_every_file_is_reported(tmp_path: Path) -> None:
    docs = fixture_documents()
    prop(docs, "contract", "amount")["x-kind"] = "money"
    prop(docs, "contract", "days_to_end")["x-formula"] = "days_between(today(), end_dat)"
    docs["contract"]["required"].append("amout")
    prop(docs, "ticket", "account")["x-ref"] = "acount"
    prop(docs, "account", "tier")["default"] = "VIP"
    raw = {"objects/notes.txt": b"x", "objects/bad.json": b"{", "reports/r.json": b"{}"}
    errors = load_errors(write_folder(tmp_path, docs, raw))
    assert [(e.file, e.path) for e in errors] == [
        ("objects/account.json", "$.properties.tier.default"),
        ("objects/bad.json", "$"),
        ("objects/contract.json", "$.properties.amount.x-kind"),
        ("objects/contract.json", "$.properties.days_to_end.x-formula"),
        ("objects/contract.json", "$.required[6]"),
        ("objects/notes.txt", "$"),
        ("objects/ticket.json", "$.properties.account.x-ref"),
        ("reports", "$"),
    ]


def test_an_unreadable_file_does_not_make_references_to_it_errors(tmp_path: Path) -> None:
    docs = fixture_documents()
    del docs["account"]
    errors = load_errors(write_folder(tmp_path, docs, {"objects/account.json": b"{ not json"}))
    assert [e.file for e in errors] == ["objects/account.json"]


def test_missing_folder(tmp_path: Path) -> None:
    errors = load_errors(tmp_path / "nowhere")
    assert len(errors) == 1 and "does not exist" in errors[0].message


def test_kind_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "objects").write_text("{}")
    [error] = load_errors(tmp_path)
    assert (error.file, error.path) == ("objects", "$") and "must be a folder" in error.message


def test_empty_folder_dotfiles_and_top_level_files_are_fine(tmp_path: Path) -> None:
    raw = {".git/config": b"x", "objects/.DS_Store": b"\x00", "README.md": b"# app", "app.json": b"{}"}
    assert len(write_folder(tmp_path, {}, raw) and load_folder(tmp_path)) == 0


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    write_folder(tmp_path, {}, {"objects/note.json": b"\xef\xbb\xbf" + json.dumps(SMALL).encode()})
    assert load_folder(tmp_path).names("object") == ["note"]


def test_load_documents_validates_like_files() -> None:
    docs = fixture_documents()
    metadata = load_documents({("object", name): doc for name, doc in docs.items()})
    assert metadata == load_folder(FIXTURE)
    docs["contract"]["properties"]["amount"]["x-kind"] = "money"
    with pytest.raises(MetadataInvalid) as caught:
        load_documents({("object", name): doc for name, doc in docs.items()})
    [error] = caught.value.errors
    assert (error.file, error.path) == ("objects/contract.json", "$.properties.amount.x-kind")


def test_load_documents_refuses_what_is_not_a_document() -> None:
    documents = {("object", "a"): ["not", "an", "object"], ("report", "b"): {}, ("object", "c"): {**SMALL, "title": {1, 2}}}
    with pytest.raises(MetadataInvalid) as caught:
        load_documents(documents, sources={("object", "a"): "designer:a"})
    assert [(e.file, e.path) for e in caught.value.errors] == [
        ("designer:a", "$"),
        ("objects/c.json", "$.title"),
        ("report/b.json", "$"),
    ]
    assert "unknown kind 'report'" in caught.value.errors[2].message
    assert "set is not a JSON value" in caught.value.errors[1].message


def test_formula_cycles_of_one_and_three_fields() -> None:
    properties = {
        "a": {"type": "number", "x-formula": "a + 1"},
        "b": {"type": "number", "x-formula": "c * 2"},
        "c": {"type": "number", "x-formula": "d - 1"},
        "d": {"type": "number", "x-formula": "b + a"},
    }
    errors = validate_set(MetadataSet({("object", "loop"): {"type": "object", "properties": properties}}))
    assert [(e.path, e.message) for e in errors] == [
        ("$.properties.a.x-formula", "formula cycle: a -> a"),
        ("$.properties.b.x-formula", "formula cycle: b -> c -> d -> b"),
    ]


def test_a_set_of_many_related_objects_validates_clean() -> None:
    def make(i: int) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for j in range(0, 30, 6):
            properties[f"name_{j}"] = {"type": "string", "maxLength": 100, "x-label": {"en": "N", "zh-CN": "名"}}
            properties[f"amount_{j}"] = {"type": "number", "x-kind": "currency", "minimum": 0, "default": 1}
            properties[f"level_{j}"] = {"type": "string", "enum": ["高", "中", "低"], "default": "中"}
            properties[f"parent_{j}"] = {"type": "string", "x-ref": f"object_{(i + 1) % 100}", "x-reverse": f"children_{i}_{j}"}
            properties[f"total_{j}"] = {"type": "number", "x-formula": f"amount_{j} * 2", "x-rules": [{"name": f"positive_{j}", "condition": f"total_{j} >= 0", "message": "!"}]}
            properties[f"due_{j}"] = {"type": "string", "format": "date"}
        return {"type": "object", "properties": properties, "required": ["name_0"], "x-index": [["name_0", "due_0"]]}

    metadata = MetadataSet({("object", f"object_{i}"): make(i) for i in range(100)})
    assert validate_set(metadata) == []  # how long it takes is bench/publish.py's business, not a test's
