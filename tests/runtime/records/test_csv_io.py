"""CSV import and export through the records service, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from tests.helpers import metadata_set, obj, rows
from tests.runtime.crm import NOW, actor, grant
from trellis.metadata.loader import load_folder
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor, FieldAccess
from trellis.runtime.errors import Conflict, Forbidden, InvalidInput, NotFound
from trellis.runtime.records import csv_io
from trellis.runtime.records.csv_io import column_name, export_csv, import_csv, sniff_delimiter, to_cell
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

ADMIN = Actor.system()

#: One field of every type, with labels in two locales: what a round trip must keep.
DEAL = obj({
    "title": {"type": "string", "x-label": {"en": "Title", "zh-CN": "标题"}},
    "notes": {"type": ["string", "null"], "x-kind": "textarea", "x-label": {"en": "Notes", "zh-CN": "备注"}},
    "seats": {"type": "integer", "x-label": {"en": "Seats", "zh-CN": "席位"}},
    "score": {"type": "number", "x-label": "Score"},
    "amount": {"type": "number", "x-kind": "currency", "x-scale": 2, "x-label": {"en": "Amount", "zh-CN": "金额"}},
    "discount": {"type": "number", "x-kind": "percent", "x-label": {"en": "Discount", "zh-CN": "折扣"}},
    "won": {"type": "boolean", "x-label": {"en": "Won", "zh-CN": "赢单"}},
    "close_on": {"type": "string", "format": "date", "x-label": {"en": "Close date", "zh-CN": "结单日期"}},
    "signed_at": {"type": "string", "format": "date-time", "x-label": {"en": "Signed at", "zh-CN": "签署时间"}},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "x-kind": "phone"},
    "site": {"type": "string", "format": "uri", "x-kind": "url"},
    "stage": {"type": "string", "enum": ["新建", "谈判", "成交"], "default": "新建",
              "x-label": {"en": "Stage", "zh-CN": "阶段"}},
    "regions": {"type": "array", "items": {"type": "string", "enum": ["华东", "华北", "海外"]}, "uniqueItems": True},
    "doubled": {"type": "number", "x-kind": "currency", "readOnly": True, "x-formula": "amount * 2"},
}, required=["title"])


def service_over(db: Database, metadata: MetadataSet) -> RecordsService:
    store = MetadataStore(db)
    store.publish(metadata, author="test")
    registry = build_registry("acme", store.current())  # type: ignore[arg-type]
    return RecordsService(db, registry, "Asia/Shanghai", "zh-CN", clock=lambda: NOW, hooks=write_hooks())


@pytest.fixture
def crm(tenant_db: Database) -> RecordsService:
    """The CRM fixture: objects with English and Chinese labels."""
    return service_over(tenant_db, load_folder(FIXTURES / "crm"))


@pytest.fixture
def deals(tenant_db: Database) -> RecordsService:
    return service_over(tenant_db, metadata_set(deal=DEAL))


def write(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def export(service: RecordsService, object_name: str, who: Actor = ADMIN, **options: Any) -> list[dict[str, str]]:
    out = io.StringIO()
    export_csv(service, who, object_name, out, **options)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def names(service: RecordsService) -> list[str]:
    return [r["name"] for r in export(service, "account")]


# -- headers -------------------------------------------------------------------------------------

def test_headers_map_by_api_name_english_label_or_chinese_label(crm: RecordsService, tmp_path: Path):
    path = write(tmp_path, "名称, Tier ,ANNUAL REVENUE,区域,有效,employee_count\n华为,战略,1234567.89,华东;华北,是,200\n")
    result = import_csv(crm, ADMIN, "account", path)
    assert result.written == 1 and result.problems == []
    [account] = export(crm, "account")
    assert (account["name"], account["tier"], account["annual_revenue"], account["regions"], account["is_active"],
            account["employee_count"]) == ("华为", "战略", "1234567.89", "华东;华北", "true", "200")


def test_unknown_and_duplicate_headers_are_refused_before_anything_is_written(crm: RecordsService, tmp_path: Path):
    path = write(tmp_path, "name,客户等级,年收入额,Name,tier\n华为,战略,1,华为,战略\n")
    with pytest.raises(InvalidInput) as error:
        import_csv(crm, ADMIN, "account", path)
    found = {p.path: p.message for p in error.value.problems}
    assert found == {
        "column 3 (C) '年收入额'": "account has no field with this name or label; did you mean '年收入' (annual_revenue)?",
        "column 4 (D) 'Name'": "means account.name, as column 1 (A) 'name' does already",
        "column 5 (E) 'tier'": "means account.tier, as column 2 (B) '客户等级' does already",
    }
    assert "nothing was imported" in error.value.message
    assert rows(crm.db, "SELECT count(*) FROM obj_account") == [(0,)]


def test_a_label_shared_by_two_fields_must_be_written_as_an_api_name(tenant_db: Database, tmp_path: Path):
    service = service_over(tenant_db, metadata_set(thing=obj({
        "a": {"type": "string", "x-label": {"en": "Code"}}, "b": {"type": "string", "x-label": {"zh-CN": "code"}}})))
    with pytest.raises(InvalidInput) as error:
        import_csv(service, ADMIN, "thing", write(tmp_path, "CODE\nx\n"))
    assert "label of several fields (a, b); use the API name" in str(error.value)
    out = io.StringIO()  # an export with labels falls back to the API name where a label is ambiguous
    export_csv(service, ADMIN, "thing", out, locale="en")
    assert out.getvalue().splitlines()[0] == "ID,a,b,Owner,Created by,Created at,Updated at,Version"


def test_columns_trellis_fills_are_read_but_not_imported(crm: RecordsService, tmp_path: Path):
    path = write(tmp_path, "id,name,created_at,version,owner_id\nX-1,华为,2020-01-01,7,u-42\n")
    result = import_csv(crm, ADMIN, "account", path)
    assert result.written == 1 and result.ignored == ["id", "created_at", "version"]
    [account] = export(crm, "account")
    assert account["id"] != "X-1" and account["version"] == "1" and account["owner_id"] == "u-42"


def test_a_blank_cell_is_not_given_so_defaults_apply(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "account", write(tmp_path, "name,tier,is_active,notes\n华为,,,\n小米, ,  ,\n"))
    assert result.written == 2
    assert {(a["tier"], a["is_active"], a["notes"]) for a in export(crm, "account")} == {("普通", "true", "")}


def test_fields_the_user_may_not_set_are_refused_at_the_header(crm: RecordsService, tmp_path: Path):
    clerk = actor("clerk", account=grant(annual_revenue=FieldAccess.READ))
    path = write(tmp_path, "name,annual_revenue,owner_id\n华为,1,u-1\n")
    with pytest.raises(InvalidInput) as error:
        import_csv(crm, clerk, "account", path)
    assert [str(p) for p in error.value.problems] == [
        "column 2 (B) 'annual_revenue': you may not set account.annual_revenue"]
    clerk = actor("clerk", account=grant(create=False))
    with pytest.raises(Forbidden):
        import_csv(crm, clerk, "account", write(tmp_path, "name\n华为\n"))


def test_unknown_object(crm: RecordsService, tmp_path: Path):
    with pytest.raises(NotFound, match="no object named 'acount'"):
        import_csv(crm, ADMIN, "acount", write(tmp_path, "name\nx\n"))


# -- reading files -------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,separator,described", [
    ("utf-8-sig", ",", "UTF-8 with BOM, comma-separated"),
    ("utf-8", ";", "UTF-8, semicolon-separated"),
    ("gb18030", ",", "GB18030, comma-separated"),
    ("gb18030", "\t", "GB18030, tab-separated"),
    ("utf-16", "\t", "UTF-16, tab-separated"),
])
def test_excel_encodings_and_separators(crm: RecordsService, tmp_path: Path, encoding: str, separator: str,
                                        described: str):
    text = separator.join(["名称", "客户等级", "备注"]) + "\r\n" + separator.join(["华为", "战略", "深圳，龙岗"]) + "\r\n"
    result = import_csv(crm, ADMIN, "account", write(tmp_path, text, encoding))
    assert result.file.description == described and result.written == 1
    assert [(a["name"], a["tier"], a["notes"]) for a in export(crm, "account")] == [("华为", "战略", "深圳，龙岗")]


def test_files_that_are_no_text_or_empty(crm: RecordsService, tmp_path: Path):
    (tmp_path / "binary.csv").write_bytes(b"name\n\x80\xff\xfe\x00\n")
    with pytest.raises(InvalidInput, match="not UTF-8 nor GB18030 text"):
        import_csv(crm, ADMIN, "account", tmp_path / "binary.csv")
    with pytest.raises(InvalidInput, match="is empty"):
        import_csv(crm, ADMIN, "account", write(tmp_path, "\n\n"))
    with pytest.raises(InvalidInput, match="has a header but no rows"):
        import_csv(crm, ADMIN, "account", write(tmp_path, "name\n,\n"))


def test_sniffing_and_column_names():
    assert sniff_delimiter("a;b;c\n") == ";" and sniff_delimiter("a\tb\n") == "\t"
    assert sniff_delimiter("a,b;c\n") == "," and sniff_delimiter("name\n") == ","
    assert [column_name(i) for i in (0, 25, 26, 701, 702)] == [
        "column 1 (A)", "column 26 (Z)", "column 27 (AA)", "column 702 (ZZ)", "column 703 (AAA)"]


# -- row problems --------------------------------------------------------------------------------

BAD_FILE = ("name,年收入,客户等级\n"
            "华为,100.50,战略\n"
            "小米,abc,普通\n"
            "\n"  # blank lines are skipped but still counted as lines
            "\"多行\n名称\",1,钻石\n"
            "腾讯,2,重要,extra\n")


def test_all_or_nothing_writes_nothing_and_reports_line_and_column(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "account", write(tmp_path, BAD_FILE.replace(",extra", "")))
    assert result.written == 0 and result.bad_rows == 2
    assert [(p.line, p.column, p.value) for p in result.problems] == [(3, "年收入", "abc"), (5, "客户等级", "钻石")]
    assert "at most 2 decimal places" in result.problems[0].message
    assert "expected one of 战略, 重要, 普通" in result.problems[1].message
    assert rows(crm.db, "SELECT count(*) FROM obj_account") == [(0,)]


def test_a_row_the_file_spoils_stops_an_all_or_nothing_import(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "account", write(tmp_path, "name,tier\n华为,战略\n小米,普通,surplus\n"))
    assert result.written == 0
    assert [(p.line, p.column, p.value, p.message) for p in result.problems] == [
        (3, "", "surplus", "a value in column 3 (C), which has no header")]
    assert rows(crm.db, "SELECT count(*) FROM obj_account") == [(0,)]


def test_skip_bad_rows_writes_the_good_ones(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "account", write(tmp_path, BAD_FILE.replace("\n\n", "\n新浪,3,普通\n")),
                        "skip-bad-rows")
    assert result.written == 2 and result.bad_rows == 3
    assert [(p.line, p.column) for p in result.problems] == [(3, "年收入"), (5, "客户等级"), (7, "")]
    assert sorted(names(crm)) == sorted(["华为", "新浪"])


def test_problems_of_fields_without_a_column_name_the_field(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "contract", write(tmp_path, "合同名称,合同编号\n续约,HT-000001\n"),
                        "skip-bad-rows")
    assert {(p.line, p.column) for p in result.problems} >= {(2, "account"), (2, "amount")}


def test_the_error_report_is_a_csv_to_fix_the_file_from(crm: RecordsService, tmp_path: Path):
    result = import_csv(crm, ADMIN, "account", write(tmp_path, BAD_FILE), "skip-bad-rows")
    out = io.StringIO()
    csv_io.write_problems(result.problems, out)
    report = list(csv.reader(io.StringIO(out.getvalue())))
    assert report[0] == ["line", "column", "value", "message"]
    assert report[1][:3] == ["3", "年收入", "abc"] and report[3][:3] == ["7", "", "extra"]


# -- batches -------------------------------------------------------------------------------------

def test_a_5000_row_import_goes_in_batches(crm: RecordsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lines = ["name,annual_revenue,tier"] + [f"客户{i},{i}.25,重要" for i in range(5_000)]
    lines[4_321] = "坏客户,1.234,重要"  # line 4,322 of the file
    path = write(tmp_path, "\n".join(lines) + "\n")
    calls: list[int] = []
    create_many = crm.create_many

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[2]))
        return create_many(*args, **kwargs)

    monkeypatch.setattr(crm, "create_many", spy)
    progress: list[tuple[int, int]] = []
    result = import_csv(crm, ADMIN, "account", path, "skip-bad-rows", on_progress=lambda d, t: progress.append((d, t)))
    assert calls == [1_000] * 5 and progress == [(n, 5_000) for n in range(1_000, 5_001, 1_000)]
    assert result.written == 4_999 and [(p.line, p.column) for p in result.problems] == [(4_322, "annual_revenue")]
    assert rows(crm.db, "SELECT count(*) FROM obj_account") == [(4_999,)]

    calls.clear()  # all-or-nothing: one call, one transaction
    result = import_csv(crm, ADMIN, "product", write(tmp_path, "code,name,list_price\n" + "".join(
        f"P-{i},产品{i},9.90\n" for i in range(2_500)), name="p.csv"))
    assert calls == [2_500] and result.written == 2_500


def test_a_call_refused_as_a_whole_stops_the_import_saying_what_was_written(
        crm: RecordsService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    create_many = crm.create_many

    def second_call_conflicts(actor: Actor, object_name: str, batch: Any, mode: Any) -> Any:
        if batch[0]["name"] == "c":
            raise Conflict("the account conflicts with other records: duplicate key")
        return create_many(actor, object_name, batch, mode)

    monkeypatch.setattr(crm, "create_many", second_call_conflicts)
    with pytest.raises(Conflict) as error:
        import_csv(crm, ADMIN, "account", write(tmp_path, "name\na\nb\nc\nd\n"), "skip-bad-rows", batch_size=2)
    assert str(error.value).endswith("the import stopped at line 4, after 2 rows had been written")


def test_all_or_nothing_refuses_more_rows_than_one_transaction_takes(crm: RecordsService, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(csv_io, "MAX_BATCH", 3)
    path = write(tmp_path, "name\na\nb\nc\nd\n")
    with pytest.raises(InvalidInput, match="all-or-nothing import takes at most 3 .* --mode skip-bad-rows"):
        import_csv(crm, ADMIN, "account", path)
    assert import_csv(crm, ADMIN, "account", path, "skip-bad-rows", batch_size=2).written == 4


# -- export --------------------------------------------------------------------------------------

def test_export_with_where_order_and_labels(crm: RecordsService, tmp_path: Path):
    import_csv(crm, ADMIN, "account", write(tmp_path, "name,tier,annual_revenue\n华为,战略,1234567.89\n"
                                                      "小米,普通,10\n腾讯,战略,\n"))
    found = export(crm, "account", where={"tier": {"_eq": "战略"}}, order_by=[{"annual_revenue": "DESC_NULLS_LAST"}],
                   locale="zh-CN")
    assert [(r["名称"], r["客户等级"], r["年收入"]) for r in found] == [("华为", "战略", "1234567.89"), ("腾讯", "战略", "")]
    assert list(found[0])[:3] == ["ID", "名称", "客户等级"] and list(found[0])[-5:] == [
        "负责人", "创建人", "创建时间", "修改时间", "版本"]
    assert list(export(crm, "account", locale="en")[0])[:3] == ["ID", "Name", "Tier"]


def test_export_walks_every_page(crm: RecordsService, tmp_path: Path):
    import_csv(crm, ADMIN, "account", write(tmp_path, "name\n" + "".join(f"c{i:02}\n" for i in range(7))))
    out = io.StringIO()
    assert export_csv(crm, ADMIN, "account", out, order_by=[{"name": "DESC"}], page_size=3) == 7
    assert [r["name"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == [f"c{i:02}" for i in range(6, -1, -1)]


def test_a_bad_filter_writes_nothing(crm: RecordsService):
    out = io.StringIO()
    with pytest.raises(InvalidInput):
        export_csv(crm, ADMIN, "account", out, where={"ghost": {"_eq": 1}})
    assert out.getvalue() == ""


def test_export_leaves_out_what_the_user_may_not_read(crm: RecordsService, tmp_path: Path):
    import_csv(crm, ADMIN, "account", write(tmp_path, "name,annual_revenue\n华为,5\n"))
    viewer = actor("viewer", account=grant(annual_revenue=FieldAccess.NONE))
    [account] = export(crm, "account", viewer)
    assert "annual_revenue" not in account and account["name"] == "华为"


def test_export_has_a_bom_for_excel_when_asked(crm: RecordsService):
    out = io.StringIO()
    export_csv(crm, ADMIN, "account", out, bom=True)
    assert out.getvalue().startswith("\ufeffid,name,")


@pytest.mark.parametrize("value,text", [
    (None, ""), (True, "true"), (False, "false"), (Decimal("1E+3"), "1000"), (Decimal("1234567.89"), "1234567.89"),
    (["华东", "海外"], "华东;海外"), (3, "3"), (0.1, "0.1"),
])
def test_cells(value: object, text: str):
    assert to_cell(value) == text


# -- round trip ----------------------------------------------------------------------------------

def test_export_then_import_into_an_empty_tenant_keeps_every_value(deals: RecordsService, installation: Installation,
                                                                  tmp_path: Path):
    deals.create_many(ADMIN, "deal", [
        {"title": "甲, \"乙\"", "notes": "第一行\n第二行", "seats": 12, "score": 0.1, "amount": "1234567.89",
         "discount": "12.50", "won": False, "close_on": "2026-06-30", "signed_at": "2026-03-01T09:30:00",
         "email": "a@example.com", "phone": "+86 10 1234 5678", "site": "https://example.com/a?b=c",
         "stage": "谈判", "regions": ["华东", "海外"]},
        {"title": "空", "stage": "成交"},
        {"title": "  spaced  ", "amount": "0.00", "won": True, "seats": 0, "regions": ["华北"]},
    ])
    for locale in (None, "zh-CN"):
        exported = tmp_path / f"deals-{locale}.csv"
        with exported.open("w", encoding="utf-8", newline="") as handle:
            assert export_csv(deals, ADMIN, "deal", handle, locale=locale, bom=True) == 3
        tenant = f"copy-{locale or 'api'}".lower()
        installation.create_tenant(tenant)
        copy = service_over(installation.database(tenant), metadata_set(deal=DEAL))
        result = import_csv(copy, ADMIN, "deal", exported)
        assert result.written == 3 and result.ignored == (
            ["id", "doubled", "created_by", "created_at", "updated_at", "version"] if locale is None else
            ["ID", "doubled", "创建人", "创建时间", "修改时间", "版本"])
        assert values(copy) == values(deals)
    first = next(v for v in values(deals) if v["seats"] == 12)
    assert (first["amount"], first["doubled"], first["won"]) == (Decimal("1234567.89"), Decimal("2469135.78"), False)


def values(service: RecordsService) -> list[dict[str, Any]]:
    """Every field value, in title order, without what differs per tenant (ids, times)."""
    kept = set(DEAL["properties"]) | {"owner_id"}
    found = [{k: v for k, v in r.items() if k in kept} for r in service.list(ADMIN, "deal").records]
    return sorted(found, key=lambda r: r["title"])
