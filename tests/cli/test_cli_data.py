"""`trellis data import|export|recompute-rollups` end to end, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.helpers import Cli, execute, metadata_set, rows
from tests.runtime.crm import OBJECTS
from trellis.platform.db import Database
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

CLERK = {"objects": {"account": {"create": True, "read": "all", "update": "own",
                                 "fields": {"annual_revenue": "none"}}}}


@pytest.fixture
def acme(cli: Cli, installation: Installation, tmp_path: Path) -> Database:
    """Tenant `acme` with the CRM fixture (labels in English and Chinese) and a `clerk` role."""
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "crm", app)
    (app / "roles").mkdir()
    (app / "roles" / "clerk.json").write_text(json.dumps(CLERK))
    cli.ok("tenant", "create", "acme")
    cli.ok("metadata", "apply", str(app), "--tenant", "acme")
    return installation.database("acme")


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "in.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def count(db: Database) -> int:
    return rows(db, "SELECT count(*) FROM obj_account")[0][0]


def test_import_then_export(cli: Cli, acme: Database, tmp_path: Path):
    path = write(tmp_path, "名称,客户等级,年收入,区域\n华为,战略,1234567.89,华东;华北\n小米,普通,88,\n", "gb18030")
    code, out, err = cli("data", "import", "--tenant", "acme", "account", path)
    assert code == 0, err
    assert "acme: imported 2 (account from in.csv: GB18030, comma-separated)" in out
    assert "acme: importing account: 2/2 rows (100%)" in err  # stderr is no terminal: plain lines
    code, _, err = cli("data", "import", "--tenant", "acme", "account", path, "--quiet")
    assert code == 0 and err == ""
    assert count(acme) == 4

    target = tmp_path / "out.csv"
    out = cli.ok("data", "export", "--tenant", "acme", "account", "--where", '{"tier": {"_eq": "战略"}}',
                 "--labels", "zh-CN", "--output", str(target), "--bom")
    assert out.startswith(f"acme: exported 2 account row(s) to {target}")
    text = target.read_text(encoding="utf-8")
    assert text.startswith("\ufeffID,名称,客户等级,行业,区域,")
    assert [(r["名称"], r["年收入"], r["区域"]) for r in csv.DictReader(io.StringIO(text[1:]))] == [
        ("华为", "1234567.89", "华东;华北")] * 2

    code, out, err = cli("data", "export", "--tenant", "acme", "account", "--order-by", "annual_revenue:desc")
    assert code == 0 and "acme: exported 4 account row(s)" in err  # stdout is the CSV itself
    assert [r["annual_revenue"] for r in csv.DictReader(io.StringIO(out))] == ["1234567.89"] * 2 + ["88.00"] * 2


def test_export_neutralises_formulas_unless_raw(cli: Cli, acme: Database, tmp_path: Path):
    cli.ok("data", "import", "--tenant", "acme", "account", write(tmp_path, 'name\n"=HYPERLINK(""http://x.test"")"\n'))
    _, out, _ = cli("data", "export", "--tenant", "acme", "account", "--bom")
    assert [r["name"] for r in csv.DictReader(io.StringIO(out.removeprefix("\ufeff")))] == ["'=HYPERLINK(\"http://x.test\")"]
    _, out, _ = cli("data", "export", "--tenant", "acme", "account", "--raw")
    assert [r["name"] for r in csv.DictReader(io.StringIO(out))] == ['=HYPERLINK("http://x.test")']


def test_all_or_nothing_refuses_the_file_with_every_reason(cli: Cli, acme: Database, tmp_path: Path):
    path = write(tmp_path, "name,年收入,客户等级\n华为,100,战略\n小米,abc,普通\n腾讯,1,钻石\n")
    report = tmp_path / "errors.csv"
    code, out, err = cli("data", "import", "--tenant", "acme", "account", path, "--errors", str(report))
    assert code == 1 and "imported" not in out
    assert "  line 3, column '年收入': expected an amount with at most 2 decimal places, got text 'abc'" in err
    assert "  line 4, column '客户等级': expected one of 战略, 重要, 普通; got '钻石'" in err
    assert "acme: nothing was imported: 2 of 3 rows have problems" in err and "--mode skip-bad-rows" in err
    assert count(acme) == 0
    assert report.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: the report opens in Excel as it is
    assert list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig")))) == [
        ["line", "column", "value", "message"],
        ["3", "年收入", "abc", "expected an amount with at most 2 decimal places, got text 'abc'"],
        ["4", "客户等级", "钻石", "expected one of 战略, 重要, 普通; got '钻石'"]]


def test_skip_bad_rows_imports_the_good_ones(cli: Cli, acme: Database, tmp_path: Path):
    path = write(tmp_path, "name,tier\n华为,战略\n小米,钻石\n")
    out = cli.ok("data", "import", "--tenant", "acme", "account", path, "--mode", "skip-bad-rows")
    assert "acme: imported 1, skipped 1 (account" in out and count(acme) == 1
    code, out, err = cli("data", "import", "--tenant", "acme", "account", write(tmp_path, "name,tier\n小米,钻石\n"),
                         "--mode", "skip-bad-rows")
    assert code == 1 and "imported 0, skipped 1" in out and "nothing could be imported" in err


def test_only_the_first_50_problems_are_printed(cli: Cli, acme: Database, tmp_path: Path):
    path = write(tmp_path, "name,tier\n" + "x,钻石\n" * 60)
    code, _, err = cli("data", "import", "--tenant", "acme", "account", path)
    assert code == 1
    assert sum(1 for line in err.splitlines() if line.startswith("  line ")) == 50
    assert "  … and 10 more (--errors FILE writes all of them)" in err
    _, _, err = cli("data", "import", "--tenant", "acme", "account", path, "--errors", str(tmp_path / "e.csv"))
    assert f"… and 10 more (all are in {tmp_path / 'e.csv'})" in err


@pytest.mark.parametrize("argv,words", [
    (["import", "--tenant", "acme", "account", "HEADER"],
     "  column 1 (A) 'nmae': account has no field with this name or label; did you mean 'name'?"),
    (["import", "--tenant", "acme", "acount", "HEADER"], "error: no object named 'acount'"),
    (["import", "--tenant", "acme", "account", "MISSING"], "error: cannot read"),
    (["import", "--tenant", "acme", "account", "HEADER", "--errors", "/nonexistent/e.csv"], "No such file"),
    (["export", "--tenant", "acme", "account", "--output", "/nonexistent/out.csv"], "No such file"),
    (["export", "--tenant", "acme", "account", "--where", "{tier"], "error: --where is not valid JSON"),
    (["export", "--tenant", "acme", "account", "--where", "[]"], "error: --where must be a JSON object"),
    (["export", "--tenant", "acme", "account", "--where", '{"ghost": {"_eq": 1}}'], "ghost"),
    (["export", "--tenant", "acme", "account", "--order-by", "name:sideways"], "direction must be one of"),
    (["export", "--tenant", "acme", "account", "--as-user", "nobody@example.com"], "no user with email"),
    (["export", "--tenant", "globex", "account"], "no tenant named 'globex'"),
    (["recompute-rollups", "--tenant", "acme", "acount"], "no object named 'acount'"),
])
def test_refusals(cli: Cli, acme: Database, tmp_path: Path, argv: list[str], words: str):
    header = write(tmp_path, "nmae\n华为\n")
    argv = [header if a == "HEADER" else str(tmp_path / "missing.csv") if a == "MISSING" else a for a in argv]
    code, out, err = cli("data", *argv)
    assert code == 1 and words in err and out == ""


def test_a_tenant_without_metadata(cli: Cli, installation: Installation):
    cli.ok("tenant", "create", "empty")
    code, _, err = cli("data", "export", "--tenant", "empty", "account")
    assert code == 1 and "has no published metadata yet" in err


def test_as_user_applies_that_users_permissions(cli: Cli, acme: Database, tmp_path: Path):
    cli.ok("user", "create", "--tenant", "acme", "clerk@example.com", "--role", "clerk", "--password", "s3cret-pass")
    code, _, err = cli("data", "import", "--tenant", "acme", "account", write(tmp_path, "name,年收入\n华为,1\n"),
                       "--as-user", "clerk@example.com")
    assert code == 1 and "column 2 (B) '年收入': you may not set account.annual_revenue" in err
    cli.ok("data", "import", "--tenant", "acme", "account", write(tmp_path, "name\n华为\n"), "--as-user", "clerk@example.com")
    _, out, _ = cli("data", "export", "--tenant", "acme", "account", "--as-user", "clerk@example.com")
    [record] = list(csv.DictReader(io.StringIO(out)))
    assert "annual_revenue" not in record and record["name"] == "华为" and record["created_by"] != "system"


def test_recompute_rollups(cli: Cli, installation: Installation):
    cli.ok("tenant", "create", "beta")
    MetadataStore(installation.database("beta")).publish(metadata_set(**OBJECTS), author="test")
    records = TenantServices(installation).records("beta")
    system = Actor.system()
    account = records.create(system, "account", {"name": "华为"})
    recent = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    records.create_many(system, "ticket", [{"account": account["id"], "opened_on": recent}] * 2)
    db = installation.database("beta")
    execute(db, "UPDATE obj_account SET open_tickets = 99")  # what a window that moved on leaves behind

    assert "beta: recomputed 2 roll-up(s) of every object" in cli.ok("data", "recompute-rollups", "--tenant", "beta")
    assert rows(db, "SELECT open_tickets FROM obj_account") == [(2,)]
    assert "beta: recomputed 2 roll-up(s) of account" in cli.ok("data", "recompute-rollups", "--tenant", "beta",
                                                                "account")
    assert "recomputed 0 roll-up(s) of ticket" in cli.ok("data", "recompute-rollups", "--tenant", "beta", "ticket")
