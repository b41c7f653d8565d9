"""Role documents (`roles/<name>.json`): each malformed role is reported with file, JSON path and a
sentence, and nothing else is reported beside it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import load_errors
from trellis.metadata import load_folder
from trellis.metadata.documents import pretty_json
from trellis.metadata.export import write_folder

FIXTURE = Path(__file__).parents[1] / "fixtures" / "crm"

SALES_REP: dict[str, Any] = {
    "x-label": {"en": "Sales rep", "zh-CN": "销售代表"},
    "description": "Works their own contracts; sees every account.",
    "objects": {
        "contract": {"create": True, "read": "all", "update": "own", "delete": "none",
                     "fields": {"amount": "read", "discount": "none"}},
        "account": {"read": "all"},
    },
}

Roles = dict[str, dict[str, Any]]


def write_roles(folder: Path, roles: Roles, raw: dict[str, bytes] | None = None) -> Path:
    """The CRM fixture's objects plus the given roles (and raw files, written as they are)."""
    (folder / "objects").mkdir(parents=True)
    for source in (FIXTURE / "objects").glob("*.json"):
        (folder / "objects" / source.name).write_bytes(source.read_bytes())
    (folder / "roles").mkdir()
    for name, document in roles.items():
        (folder / "roles" / f"{name}.json").write_text(pretty_json(document), encoding="utf-8")
    for relative, data in (raw or {}).items():
        (folder / relative).write_bytes(data)
    return folder


def grant(roles: Roles) -> dict[str, Any]:
    return roles["sales_rep"]["objects"]["contract"]


def set_grant(key: str, value: Any) -> Callable[[Roles], None]:
    return lambda roles: grant(roles).__setitem__(key, value)


def set_field(name: str, access: Any) -> Callable[[Roles], None]:
    return lambda roles: grant(roles)["fields"].__setitem__(name, access)


def rename(old: str, new: str) -> Callable[[Roles], None]:
    return lambda roles: roles.__setitem__(new, roles.pop(old))


@dataclass(frozen=True)
class Case:
    """One malformed role: a change to SALES_REP and the error it must give."""

    id: str
    change: Callable[[Roles], Any]
    path: str
    words: tuple[str, ...]
    file: str = "roles/sales_rep.json"


CASES = [
    Case("unknown object", lambda roles: roles["sales_rep"]["objects"].__setitem__("contrat", {"read": "all"}),
         "$.objects.contrat", ("'contrat' is not an object", "did you mean 'contract'")),
    Case("unknown field", set_field("amout", "read"),
         "$.objects.contract.fields.amout", ("'amout' is not a field of 'contract'", "did you mean 'amount'")),
    Case("standard column as a field", set_field("owner_id", "none"),
         "$.objects.contract.fields.owner_id", ("'owner_id' is a standard column",)),
    Case("unknown scope", set_grant("read", "some"),
         "$.objects.contract.read", ("expected one of none, own, all", '"some"')),
    Case("create is not true or false", set_grant("create", "yes"),
         "$.objects.contract.create", ("expected a boolean", '"yes"')),
    Case("misspelt permission", set_grant("craete", True),
         "$.objects.contract.craete", ("unknown keyword craete", "did you mean create?")),
    Case("unknown field access", set_field("amount", "write"),
         "$.objects.contract.fields.amount", ("expected one of none, read, edit", '"write"')),
    Case("fields is a list", set_grant("fields", ["amount"]),
         "$.objects.contract.fields", ("expected an object of field names", "a list")),
    Case("update reaches further than read", lambda roles: grant(roles).update(read="own", update="all"),
         "$.objects.contract.update", ("update 'all' reaches further than read 'own'", "cannot update records")),
    Case("delete without read", lambda roles: roles["sales_rep"]["objects"].__setitem__("account", {"delete": "own"}),
         "$.objects.account.delete", ("delete 'own' reaches further than read 'none'",)),
    Case("objects is a list", lambda roles: roles["sales_rep"].__setitem__("objects", ["contract"]),
         "$.objects", ("expected an object", "a list")),
    Case("misspelt label keyword", lambda roles: roles["sales_rep"].__setitem__("x-lable", "Rep"),
         "$.x-lable", ("unknown keyword x-lable", "did you mean x-label?")),
    Case("label with a bad locale", lambda roles: roles["sales_rep"].__setitem__("x-label", {"EN": "Rep"}),
         "$.x-label", ("locale", '"EN"')),
    Case("the built-in admin", rename("sales_rep", "admin"),
         "$", ("'admin' is the built-in role with full access",), file="roles/admin.json"),
    Case("CamelCase role name", rename("sales_rep", "SalesRep"),
         "$", ("'SalesRep' is not a valid role name", "snake_case"), file="roles/SalesRep.json"),
    Case("SQL word as role name", rename("sales_rep", "select"),
         "$", ("'select' is a reserved word in SQL",), file="roles/select.json"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_role(case: Case, tmp_path: Path) -> None:
    roles = {"sales_rep": copy.deepcopy(SALES_REP)}
    case.change(roles)
    errors = load_errors(write_roles(tmp_path, roles))
    assert [(e.file, e.path) for e in errors] == [(case.file, case.path)], "\n".join(map(str, errors))
    assert all(word in errors[0].message for word in case.words), errors[0].message


def test_a_well_formed_role_loads_and_round_trips(tmp_path: Path) -> None:
    metadata = load_folder(write_roles(tmp_path / "in", {"sales_rep": SALES_REP, "viewer": {}}))
    assert metadata.names("role") == ["sales_rep", "viewer"]
    assert metadata[("role", "sales_rep")] == SALES_REP
    write_folder(metadata, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out" / "roles").iterdir()) == ["sales_rep.json", "viewer.json"]
    assert load_folder(tmp_path / "out") == metadata


def test_every_role_error_in_every_file_is_reported(tmp_path: Path) -> None:
    broken = copy.deepcopy(SALES_REP)
    broken["objects"]["contract"]["fields"]["amout"] = "read"
    broken["objects"]["tikcet"] = {"read": "all"}
    raw = {"roles/bad.json": b'{"objects": '}
    errors = load_errors(write_roles(tmp_path, {"sales_rep": broken, "admin": {}}, raw))
    assert [(e.file, e.path) for e in errors] == [
        ("roles/admin.json", "$"),
        ("roles/bad.json", "$"),
        ("roles/sales_rep.json", "$.objects.contract.fields.amout"),
        ("roles/sales_rep.json", "$.objects.tikcet"),
    ]


def test_a_role_naming_an_unreadable_object_is_not_blamed(tmp_path: Path) -> None:
    folder = write_roles(tmp_path, {"sales_rep": SALES_REP})
    (folder / "objects" / "contract.json").write_text("{ not json")
    assert [e.file for e in load_errors(folder)] == ["objects/contract.json"]


def test_a_broken_field_still_counts_as_a_field(tmp_path: Path) -> None:
    folder = write_roles(tmp_path, {"sales_rep": SALES_REP})
    contract = json.loads((folder / "objects" / "contract.json").read_text("utf-8"))
    contract["properties"]["amount"]["type"] = "money"
    (folder / "objects" / "contract.json").write_text(json.dumps(contract), encoding="utf-8")
    assert [(e.file, e.path) for e in load_errors(folder)] == [("objects/contract.json", "$.properties.amount.type")]
