"""The `trellis` command end to end: the fixture's life through apply, export, evolve, refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.helpers import Cli, insert_records, rows, schema_snapshot
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore

CRM = FIXTURES / "crm"


@pytest.fixture
def acme(cli: Cli, installation: Installation) -> MetadataStore:
    cli.ok("tenant", "create", "acme")
    return MetadataStore(installation.database("acme"))


def copy_fixture(tmp_path: Path, name: str = "v") -> Path:
    target = tmp_path / name
    shutil.copytree(CRM, target)
    return target


def edit(folder: Path, object_name: str, change: Any) -> None:
    path = folder / "objects" / f"{object_name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def test_fixture_lifecycle(cli: Cli, acme: MetadataStore, tmp_path: Path):
    out = cli.ok("metadata", "apply", str(CRM), "--tenant", "acme", "-m", "first")
    assert "published release 1" in out and "create table obj_contract" in out
    assert {f"obj_{n}" for n in ("account", "contact", "product", "contract", "contract_line", "ticket")} \
        <= acme.db.table_names()

    exported = tmp_path / "exported"
    assert "wrote release 1 (6 files)" in cli.ok("metadata", "export", "--tenant", "acme", str(exported))
    assert "no changes" in cli.ok("metadata", "apply", str(exported), "--tenant", "acme")
    assert "no changes" in cli.ok("metadata", "apply", str(CRM), "--tenant", "acme")

    metadata = acme.current().metadata  # type: ignore[union-attr]
    insert_records(acme.db, metadata, "account", [{"id": "a1", "name": "华为", "tier": "战略"}])
    insert_records(acme.db, metadata, "ticket", [{"id": "t1", "subject": "登录失败", "account": "a1"}])

    v2 = copy_fixture(tmp_path)  # an added field
    edit(v2, "account", lambda d: d["properties"].update(
        {"credit_code": {"type": "string", "maxLength": 18, "x-label": {"zh-CN": "统一社会信用代码"}}}))
    out = cli.ok("metadata", "apply", str(v2), "--tenant", "acme")
    assert "published release 2" in out and "add column obj_account.credit_code" in out

    (v2 / "objects" / "renewal.json").write_text(json.dumps({  # an added object
        "type": "object", "properties": {
            "contract": {"type": "string", "x-ref": "contract"},
            "stage": {"type": "string", "enum": ["待跟进", "已赢单", "已流失"]}}}, ensure_ascii=False))
    assert "create table obj_renewal" in cli.ok("metadata", "apply", str(v2), "--tenant", "acme")

    before = schema_snapshot(acme.db)  # a destructive change: refused, then allowed
    edit(v2, "ticket", lambda d: d["properties"].pop("subject") and d["required"].remove("subject"))
    code, out, err = cli("metadata", "apply", str(v2), "--tenant", "acme")
    assert code == 1
    assert "ticket.subject" in err and "--allow-destructive" in err and "nothing was changed" in err
    assert schema_snapshot(acme.db) == before and acme.current_number() == 3

    out = cli.ok("metadata", "apply", str(v2), "--tenant", "acme", "--allow-destructive")
    assert "published release 4" in out
    assert rows(acme.db, "SELECT id, subject__retired_r4 FROM obj_ticket") == [("t1", "登录失败")]
    assert rows(acme.db, "SELECT name FROM obj_account") == [("华为",)]

    history = cli.ok("metadata", "history", "--tenant", "acme")
    assert [line.split()[0] for line in history.splitlines()] == ["4", "3", "2", "1"]
    assert "+ field credit_code" in cli.ok("metadata", "diff", "1", "2", "--tenant", "acme")


def test_dry_run_shows_the_plan_and_publishes_nothing(cli: Cli, acme: MetadataStore):
    out = cli.ok("metadata", "apply", str(CRM), "--tenant", "acme", "--dry-run")
    assert "create table obj_account" in out and "dry run: nothing was published" in out
    assert acme.current_number() is None
    assert not any(t.startswith("obj_") for t in acme.db.table_names())


def test_rollback_publishes_an_earlier_release_again(cli: Cli, acme: MetadataStore, tmp_path: Path):
    cli.ok("metadata", "apply", str(CRM), "--tenant", "acme")
    v2 = copy_fixture(tmp_path)
    edit(v2, "product", lambda d: d["properties"].update({"sku": {"type": "string"}}))
    cli.ok("metadata", "apply", str(v2), "--tenant", "acme")
    code, _, err = cli("metadata", "rollback", "1", "--tenant", "acme")
    assert code == 1 and "product.sku" in err
    assert "published release 3" in cli.ok("metadata", "rollback", "1", "--tenant", "acme", "--allow-destructive")
    assert acme.current().metadata == acme.release(1).metadata  # type: ignore[union-attr]
    code, _, err = cli("metadata", "rollback", "9", "--tenant", "acme")
    assert code == 1 and "no release 9" in err


def test_tenant_commands(cli: Cli):
    assert "no tenants yet" in cli.ok("tenant", "list")
    assert "created tenant acme (time zone Europe/Berlin, locale en)" in cli.ok(
        "tenant", "create", "acme", "--timezone", "Europe/Berlin", "--locale", "en")
    assert cli.ok("tenant", "list").split()[:3] == ["acme", "Europe/Berlin", "en"]
    code, _, err = cli("tenant", "create", "acme")
    assert code == 1 and "already exists" in err
    code, _, err = cli("tenant", "create", "Bad_Name")
    assert code == 1 and "lowercase slug" in err
    code, _, err = cli("metadata", "history", "--tenant", "nobody")
    assert code == 1 and "no tenant named 'nobody'" in err
    assert "1 tenant(s) migrated" in cli.ok("migrate")


def test_export_before_any_release_is_a_clear_error(cli: Cli, acme: MetadataStore, tmp_path: Path):
    code, _, err = cli("metadata", "export", "--tenant", "acme", str(tmp_path / "x"))
    assert code == 1 and "no release has been published" in err
