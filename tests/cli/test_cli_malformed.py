"""Malformed definitions through `trellis metadata apply`: a clear error naming file and JSON path,
a non-zero exit, and nothing changed in the store or the tables — on both databases."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import CRM, edit
from tests.helpers import Cli, schema_snapshot
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore


def prop(object_name: str, field: str, schema: Any) -> Callable[[Path], None]:
    return lambda folder: edit(folder, object_name, lambda d: d["properties"].__setitem__(field, schema))


def write(relative: str, content: bytes | str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return apply


def nested(depth: int) -> str:
    return '{"type": "object", "properties": {"x": ' + '{"a": ' * depth + "1" + "}" * depth + "}}"


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (how to break the fixture, file in the message, JSON path or words in the message)
    "wrong field type": (prop("contract", "amount", {"type": "money"}), "objects/contract.json", "$.properties.amount"),
    "unknown x- keyword": (prop("account", "name", {"type": "string", "x-colour": "red"}), "objects/account.json", "x-colour"),
    "lookup to nowhere": (prop("contact", "account", {"type": "string", "x-ref": "acount"}), "objects/contact.json", "acount"),
    "formula syntax error": (prop("contract_line", "line_total", {"type": "number", "x-formula": "quantity * * unit_price"}),
                             "objects/contract_line.json", "$.properties.line_total.x-formula"),
    "formula unknown field": (prop("contract_line", "line_total", {"type": "number", "x-formula": "quantity * unit_prise"}),
                              "objects/contract_line.json", "unit_prise"),
    "formula unknown function": (prop("contract_line", "line_total", {"type": "number", "x-formula": "frobnicate(quantity)"}),
                                 "objects/contract_line.json", "frobnicate"),
    "formula cycle": (lambda f: (prop("product", "a", {"type": "integer", "x-formula": "b + 1"})(f),
                                 prop("product", "b", {"type": "integer", "x-formula": "a + 1"})(f)),
                      "objects/product.json", "cycle"),
    "formula escape payload": (prop("product", "evil", {"type": "string", "x-formula": "().__class__.__bases__"}),
                               "objects/product.json", "$.properties.evil.x-formula"),
    "formula power bomb": (prop("product", "bomb", {"type": "integer", "x-formula": "9**9**9**9"}),
                           "objects/product.json", "$.properties.bomb.x-formula"),
    "CamelCase file name": (write("objects/BadName.json", '{"type": "object", "properties": {}}'), "objects/BadName.json", "snake_case"),
    "reserved object name": (write("objects/select.json", '{"type": "object", "properties": {}}'), "objects/select.json", "reserved"),
    "standard column as field": (prop("ticket", "id", {"type": "string"}), "objects/ticket.json", "$.properties.id"),
    "10 MB file": (write("objects/huge.json", b'{"type": "object", "properties": {}, "description": "' + b"x" * 10_000_000 + b'"}'),
                   "objects/huge.json", "MiB"),
    "schema nested 500 deep": (write("objects/deep.json", nested(500)), "objects/deep.json", "deep"),
    "invalid JSON": (write("objects/broken.json", '{"type": "object", "properties": {,}}'), "objects/broken.json", "line 1"),
    "invalid UTF-8": (write("objects/latin.json", b'{"type": "object", "title": "\xff\xfe"}'), "objects/latin.json", "UTF-8"),
    "top level not an object": (write("objects/listy.json", "[1, 2]"), "objects/listy.json", "$"),
    "enum default outside enum": (prop("account", "tier", {"type": "string", "enum": ["战略", "普通"], "default": "重要"}),
                                  "objects/account.json", "$.properties.tier.default"),
    "currency on a string": (prop("product", "list_price", {"type": "string", "x-kind": "currency"}),
                             "objects/product.json", "$.properties.list_price"),
    "required names a missing field": (lambda f: edit(f, "ticket", lambda d: d["required"].append("ghost")),
                                       "objects/ticket.json", "ghost"),
    "x-index names an unknown field": (lambda f: edit(f, "contract", lambda d: d.__setitem__("x-index", [["nope"]])),
                                       "objects/contract.json", "nope"),
    "lookup with integer type": (prop("ticket", "account", {"type": "integer", "x-ref": "account"}),
                                 "objects/ticket.json", "$.properties.account"),
    "x_id next to lookup x": (prop("ticket", "account_id", {"type": "string"}), "objects/ticket.json", "account_id"),
    "unknown folder": (write("widgets/a.json", "{}"), "widgets", "widgets"),
    "array without enum items": (prop("account", "tags", {"type": "array", "items": {"type": "string"}}),
                                 "objects/account.json", "$.properties.tags"),
    "negative maxLength": (prop("account", "name", {"type": "string", "maxLength": -1}), "objects/account.json",
                           "$.properties.name.maxLength"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_definition_is_refused_and_changes_nothing(
        case: str, cli: Cli, installation: Installation, tmp_path: Path):
    cli.ok("tenant", "create", "acme")
    cli.ok("metadata", "apply", str(CRM), "--tenant", "acme")
    store = MetadataStore(installation.database("acme"))
    before, history = schema_snapshot(store.db), store.history()

    folder = tmp_path / "broken"
    shutil.copytree(CRM, folder)
    edit(folder, "account", lambda d: d["properties"].update({"fax": {"type": "string"}}))  # a valid change too
    breaker, file, where = CASES[case]
    breaker(folder)

    code, out, err = cli("metadata", "apply", str(folder), "--tenant", "acme")
    assert code == 1, out
    assert file in err and where in err, err
    assert "nothing was published" in err
    assert schema_snapshot(store.db) == before
    assert store.history() == history


def test_every_error_in_every_file_is_reported_at_once(cli: Cli, tmp_path: Path):
    cli.ok("tenant", "create", "acme")
    folder = tmp_path / "broken"
    shutil.copytree(CRM, folder)
    for case in ("wrong field type", "lookup to nowhere", "formula unknown field", "invalid JSON"):
        CASES[case][0](folder)
    code, _, err = cli("metadata", "apply", str(folder), "--tenant", "acme")
    assert code == 1
    for file in ("objects/contract.json", "objects/contact.json", "objects/contract_line.json", "objects/broken.json"):
        assert file in err, err
