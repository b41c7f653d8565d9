"""Formulas in SQL compute what evaluate() computes in Python, on SQLite and on PostgreSQL.

THE test here is `test_the_database_computes_what_python_computes`: a table of formulas times
sample rows (blanks, negative numbers, cents, dates across month ends and leap days, a Shanghai
date-time in the 1991 daylight-saving summer, Chinese text), each formula selected from a real
table created by publishing, compared with `evaluate()` on the same row read back.

Tolerance: values compare exactly (Decimals as Decimals, never floats) except for formulas marked
inexact, where floating point is inherent: `number` fields (double precision), and division
that is not by a constant like 100 (SQLite divides in floating point; PostgreSQL's NUMERIC
division keeps fewer digits than Python's 28). Those agree to 1e-9 relative.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, select

from tests.helpers import insert_records, metadata_set, obj
from trellis.metadata.model import FieldDef
from trellis.platform.db import Database
from trellis.runtime.expressions import (
    CompiledExpression,
    EvaluationContext,
    EvaluationError,
    NotExpressibleInSQL,
    compile_expression,
    evaluate,
    to_sql,
)
from trellis.runtime.releases import MetadataStore
from trellis.runtime.storage import build_tables

CTX = EvaluationContext(ZoneInfo("Asia/Shanghai"), datetime(2026, 3, 1, 17, 0, tzinfo=UTC))  # 2 March local

ACCOUNT = obj({
    "name": {"type": "string"},
    "tier": {"type": "string", "enum": ["战略", "重要", "普通"]},
    "rate": {"type": "number", "x-kind": "percent"},
})
DEAL = obj({
    "name": {"type": "string"},
    "code": {"type": "string"},
    "quantity": {"type": "integer"},
    "unit_price": {"type": "number", "x-kind": "currency"},
    "discount": {"type": "number", "x-kind": "percent"},
    "score": {"type": "number"},
    "start_date": {"type": "string", "format": "date"},
    "end_date": {"type": "string", "format": "date"},
    "signed_at": {"type": "string", "format": "date-time"},
    "active": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["VIP", "新客户", "续约"]}},
    "account": {"type": "string", "x-ref": "account"},
    "total": {"type": "number", "x-kind": "currency", "x-formula": "quantity * unit_price"},
    "days_left": {"type": "integer", "x-formula": "days_between(today(), end_date)"},
})
METADATA = metadata_set(account=ACCOUNT, deal=DEAL)

ACCOUNTS = [
    {"id": "a1", "name": "国家电网", "tier": "战略", "rate": Decimal("5.50")},
    {"id": "a2", "name": "Small Shop", "tier": "普通", "rate": None},
]
DEALS = [
    {"id": "d1", "name": "上海电力 合同", "code": "CN-001", "quantity": 3, "unit_price": Decimal("19.99"),
     "discount": Decimal("12.50"), "score": 2.5, "start_date": date(2024, 1, 31), "end_date": date(2024, 2, 29),
     "signed_at": datetime(2026, 3, 1, 16, 30, tzinfo=UTC),  # 00:30 on 2 March in Shanghai
     "active": True, "tags": ["VIP"], "account": "a1"},
    {"id": "d2"},  # every field blank
    {"id": "d3", "name": "退款", "code": "cn-refund", "quantity": -7, "unit_price": Decimal("-0.01"),
     "discount": Decimal("0.00"), "score": -1.75, "start_date": date(2026, 1, 31), "end_date": date(2026, 3, 31),
     "signed_at": datetime(1991, 6, 1, 15, 30, tzinfo=UTC),  # China kept summer time in 1991: 2 June local
     "active": False, "tags": [], "account": "a2"},
    {"id": "d4", "name": "abc", "code": "CN-abc", "quantity": 1000, "unit_price": Decimal("9999999.99"),
     "discount": Decimal("99.99"), "score": 1000000.5, "start_date": date(2025, 12, 1), "end_date": date(2025, 12, 31),
     "signed_at": datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), "active": None, "tags": ["VIP", "续约"],
     "account": None},
    {"id": "d5", "name": "", "code": None, "quantity": 0, "unit_price": Decimal("0.05"), "discount": Decimal("33.33"),
     "score": 0.1, "start_date": date(2027, 3, 31), "end_date": date(2028, 2, 29),
     "signed_at": datetime(2028, 2, 28, 16, 0, tzinfo=UTC), "active": True, "tags": None, "account": "a1"},
    {"id": "d6", "name": "Z 续约", "code": "CN-002", "quantity": 7, "unit_price": Decimal("0.10"),
     "discount": Decimal("5.05"), "score": 3.0, "start_date": date(2026, 3, 2), "end_date": date(2026, 3, 2),
     "signed_at": datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC), "active": True, "tags": ["新客户"], "account": "a2"},
]

EXACT, INEXACT = False, True
FORMULAS: list[tuple[str, bool]] = [
    # money and numbers
    ("quantity * unit_price", EXACT),
    ("unit_price - unit_price * discount * 0.01", EXACT),
    ("round(quantity * unit_price * (100 - discount) / 100, 2)", EXACT),  # the renewals line total
    ("quantity * unit_price + 0.005", EXACT),
    ("-unit_price + 1", EXACT),
    ("abs(unit_price)", EXACT),
    ("round(unit_price * discount * 0.01, 2)", EXACT),
    ("round(unit_price, 1)", EXACT),
    ("round(unit_price, -2)", EXACT),
    ("round(quantity, -1)", EXACT),
    ("round(discount)", EXACT),
    ("quantity / 4", EXACT),
    ("unit_price / 0.5", EXACT),
    ("quantity // 2", EXACT),
    ("quantity % 3", EXACT),
    ("quantity % -3", EXACT),
    ("quantity ** 2", EXACT),
    ("unit_price ** 2", EXACT),
    ("total * 2", EXACT),
    ("unit_price / 3", INEXACT),
    ("unit_price / quantity", INEXACT),  # d5: division by zero
    ("quantity / (quantity - quantity)", INEXACT),  # always division by zero
    ("score * 2 + quantity", INEXACT),
    ("score * unit_price", INEXACT),
    ("round(score, 1)", INEXACT),
    ("min(score, quantity)", INEXACT),
    ("coalesce(discount, 0)", EXACT),
    ("coalesce(discount, unit_price, 1.5)", EXACT),
    ("min(unit_price, 5, discount)", EXACT),
    ("max(quantity, unit_price)", EXACT),
    # text
    ("coalesce(code, name, '—')", EXACT),
    ("name + '/' + code", EXACT),
    ("len(name)", EXACT),
    ("lower(name)", EXACT),
    ("upper(code)", EXACT),
    ("max(code, name)", EXACT),
    ("code < name", EXACT),  # code-point order (COLLATE "C" on PostgreSQL), as in Python
    ("contains(name, '合同')", EXACT),
    ("'续约' in name", EXACT),
    ("starts_with(code, 'CN-')", EXACT),
    ("code in ['CN-001', 'cn-refund', None]", EXACT),
    ("code not in ['CN-001']", EXACT),
    ("is_blank(code)", EXACT),
    ("is_blank(name)", EXACT),
    ("if_(quantity * unit_price > 100, '大', '小')", EXACT),
    ("'高' if score > 2 else '低'", EXACT),
    # lists (multi-select)
    ("contains(tags, 'VIP')", EXACT),
    ("'续约' in tags", EXACT),
    ("len(tags)", EXACT),
    ("is_blank(tags)", EXACT),
    # yes/no
    ("active", EXACT),
    ("not active", EXACT),
    ("active and quantity > 0", EXACT),
    ("active or is_blank(code)", EXACT),
    ("unit_price > 19.985", EXACT),
    ("unit_price == 19.99", EXACT),
    ("discount != 12.5", EXACT),
    ("quantity >= 0 and quantity < 10", EXACT),
    ("0 <= quantity < 10", EXACT),
    # dates and date-times in the tenant's zone
    ("today()", EXACT),
    ("now()", EXACT),
    ("days_between(today(), end_date)", EXACT),
    ("days_between(start_date, end_date)", EXACT),
    ("days_between(signed_at, today())", EXACT),
    ("days_between(signed_at, end_date)", EXACT),
    ("add_days(end_date, 30)", EXACT),
    ("add_days(end_date, quantity)", EXACT),
    ("add_days(signed_at, -1)", EXACT),
    ("add_months(start_date, 1)", EXACT),
    ("add_months(end_date, -12)", EXACT),
    ("add_months(start_date, quantity)", EXACT),
    ("year(end_date)", EXACT),
    ("month(signed_at)", EXACT),
    ("day(signed_at)", EXACT),
    ("date_trunc('day', signed_at)", EXACT),
    ("date_trunc('week', end_date)", EXACT),
    ("date_trunc('month', end_date)", EXACT),
    ("date_trunc('quarter', signed_at)", EXACT),
    ("date_trunc('year', start_date)", EXACT),
    ("end_date < today()", EXACT),
    ("signed_at < now()", EXACT),
    ("end_date == start_date", EXACT),
    ("max(start_date, end_date)", EXACT),
    ("min(signed_at, now())", EXACT),
    ("coalesce(end_date, today())", EXACT),
    # live formulas (inlined) and lookups (joined)
    ("if_(days_left < 0, 'expired', 'open')", EXACT),
    ("days_left * 2", EXACT),
    ("account.tier", EXACT),
    ("if_(account.tier == '战略', unit_price * 0.9, unit_price)", EXACT),
    ("coalesce(account.rate, 0) + discount", EXACT),
]


def agree(python: Any, database: Any, inexact: bool) -> bool:
    if python is None or database is None:
        return python is None and database is None
    if isinstance(python, bool) or isinstance(database, bool):
        return type(python) is type(database) and python == database
    if isinstance(python, (int, float, Decimal)) and isinstance(database, (int, float, Decimal)):
        if inexact:
            return math.isclose(float(python), float(database), rel_tol=1e-9, abs_tol=1e-9)
        return not isinstance(database, float) and not isinstance(python, float) and python == database
    return type(python) is type(database) and python == database or (
        isinstance(python, datetime) and isinstance(database, datetime) and python == database)


class Published:
    """The sample tables, published and filled, plus what SQL and Python need to read them."""

    def __init__(self, db: Database):
        self.db = db
        MetadataStore(db).publish(METADATA, author="test", message="formulas")
        tables = build_tables(METADATA.objects)
        self.deal: Table = tables["deal"]
        self.account: Table = tables["account"]
        self.fields: dict[str, FieldDef] = dict(METADATA.objects["deal"].fields)
        self.account_fields: dict[str, FieldDef] = dict(METADATA.objects["account"].fields)
        total = compile_expression("quantity * unit_price")
        deal_keys = [k for k, f in self.fields.items() if f.stored and k != "total"]
        rows = [{"id": d["id"], **{k: d.get(k) for k in deal_keys}} for d in DEALS]
        for row in rows:
            row["total"] = evaluate(total, row, {}, CTX)
        insert_records(db, METADATA, "account", ACCOUNTS)
        insert_records(db, METADATA, "deal", rows)
        with db.read() as conn:
            self.records = [dict(r._mapping) for r in conn.execute(select(self.deal).order_by(self.deal.c.id))]
            self.accounts = {r.id: dict(r._mapping) for r in conn.execute(select(self.account))}
        days_left = compile_expression(self.fields["days_left"].formula or "")
        for record in self.records:  # live formulas are computed on read, before the formulas reading them
            record["days_left"] = evaluate(days_left, record, {}, CTX)

    def related(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"account": self.accounts.get(record["account"])} if record["account"] else {}

    def sql(self, compiled: CompiledExpression, ctx: EvaluationContext = CTX, **columns: Any) -> list[Any]:
        """The formula computed by the database for every row, in id order."""
        joined = {"account": (self.account.c, self.account_fields)}
        expression = to_sql(compiled, {**self.deal.c, **columns}, self.fields, self.db.dialect, ctx, joined)
        source = self.deal.outerjoin(self.account, self.deal.c.account == self.account.c.id)
        with self.db.read() as conn:
            return [r[0] for r in conn.execute(select(expression).select_from(source).order_by(self.deal.c.id))]

    def python(self, compiled: CompiledExpression, ctx: EvaluationContext = CTX) -> list[Any]:
        results: list[Any] = []
        for record in self.records:
            try:
                results.append(evaluate(compiled, record, self.related(record), ctx))
            except EvaluationError as error:
                results.append(error)
        return results


@pytest.fixture
def published(tenant_db: Database) -> Published:
    return Published(tenant_db)


def test_the_database_computes_what_python_computes(published: Published):
    mismatches: list[str] = []
    for source, inexact in FORMULAS:
        compiled = compile_expression(source)
        for record, in_python, in_database in zip(published.records, published.python(compiled),
                                                  published.sql(compiled), strict=True):
            if isinstance(in_python, EvaluationError):
                ok = in_python.message == "division by zero" and in_database is None
            else:
                ok = agree(in_python, in_database, inexact)
            if not ok:
                mismatches.append(f"{source} on {record['id']}: python {in_python!r}, database {in_database!r}")
    assert mismatches == []


def test_every_sample_row_exercises_something(published: Published):
    """Guard against a fixture that silently lost its rows or its blanks."""
    assert [r["id"] for r in published.records] == ["d1", "d2", "d3", "d4", "d5", "d6"]
    blank = published.records[1]
    assert all(blank[f] is None for f in ("quantity", "unit_price", "end_date", "signed_at", "tags", "account"))
    assert published.python(compile_expression("day(signed_at)"))[2] == 2  # 1991 summer time applied


def test_money_comes_back_as_exact_decimals(published: Published):
    values = published.sql(compile_expression("quantity * unit_price"))
    assert values[0] == Decimal("59.97") and isinstance(values[0], Decimal)
    assert values[3] == Decimal("9999999990.00")


def test_filters_and_sorts_on_a_live_formula(published: Published):
    deal, db = published.deal, published.db
    days_left = to_sql(compile_expression("days_between(today(), end_date)"), deal.c, published.fields, db.dialect, CTX)
    with db.read() as conn:
        soon = conn.execute(select(deal.c.id).where(days_left >= 0).where(days_left <= 30).order_by(deal.c.id))
        by_days = conn.execute(select(deal.c.id).where(days_left.is_not(None)).order_by(days_left, deal.c.id))
        assert [r.id for r in soon] == ["d3", "d6"]  # 29 and 0 days left on 2 March
        assert [r.id for r in by_days] == ["d1", "d4", "d6", "d3", "d5"]


def test_a_formula_result_compares_with_python_values_of_its_kind(published: Published):
    """What the query compiler does: formula <op> bound value, stored the same way as a column."""
    deal, db = published.deal, published.db
    total = to_sql(compile_expression("quantity * unit_price * 1"), deal.c, published.fields, db.dialect, CTX)
    due = to_sql(compile_expression("add_days(end_date, 30)"), deal.c, published.fields, db.dialect, CTX)
    with db.read() as conn:
        big = conn.execute(select(deal.c.id).where(total > Decimal("59.96")).order_by(deal.c.id))
        assert [r.id for r in big] == ["d1", "d4"]
        later = conn.execute(select(deal.c.id).where(due > date(2026, 4, 1)).order_by(deal.c.id))
        assert [r.id for r in later] == ["d3", "d5"]


def test_a_translated_live_formula_can_be_passed_back_as_a_column(published: Published):
    """The query compiler translates live formulas once and hands them in with the columns."""
    days_left = to_sql(compile_expression(published.fields["days_left"].formula or ""), published.deal.c,
                       published.fields, published.db.dialect, CTX)
    compiled = compile_expression("if_(days_left < 0, 'expired', 'open')")
    assert published.sql(compiled, days_left=days_left) == published.python(compiled)
    halved = to_sql(compile_expression("unit_price * 0.5"), published.deal.c, published.fields,
                    published.db.dialect, CTX)
    assert published.sql(compile_expression("half + 0.001"), half=halved)[0] == Decimal("9.996")


@pytest.mark.parametrize(("source", "reason"), [
    ("unit_price // 2", "uses // on numbers that are not whole"),
    ("'ab' * quantity", "repeats text with *"),
    ("name + quantity", "uses + on text and a number"),
    ("name > quantity", "compares text with a number"),
    ("tags == tags", "compares lists"),
    ("round(unit_price, quantity)", "uses round with decimal places that are not a whole number"),
    ("date_trunc(name, end_date)", "uses date_trunc with a unit"),
    ("add_days(end_date, 1.5)", "uses add_days on a number (it expects a whole number)"),
    ("days_between(name, end_date)", "uses days_between on text (it expects a date)"),
    ("if_(name, 1, 2)", "uses text as the condition of if_"),
    ("if_(active, 'x', 1)", "uses if_ with values of different kinds (a number and text)"),
    ("quantity ** -1", "uses ** with an exponent other than a whole number"),
])
def test_what_the_database_cannot_compute_is_refused_with_a_sentence(published: Published, source: str, reason: str):
    with pytest.raises(NotExpressibleInSQL) as refused:
        to_sql(compile_expression(source), published.deal.c, published.fields, published.db.dialect, CTX,
               name="days_to_end")
    assert refused.value.reason.startswith(f"formula days_to_end {reason}")
    assert "cannot be computed in the database; filter or sort on a stored field instead" in refused.value.reason


def test_a_lookup_field_needs_the_joined_table(published: Published):
    with pytest.raises(NotExpressibleInSQL, match="uses account.tier, a field of a related record that is not joined"):
        to_sql(compile_expression("account.tier"), published.deal.c, published.fields, published.db.dialect, CTX)


def test_date_times_in_a_daylight_saving_zone(published: Published):
    """PostgreSQL converts any zone; SQLite only zones without daylight saving, and says so."""
    berlin = EvaluationContext(ZoneInfo("Europe/Berlin"), CTX.now)
    compiled = compile_expression("days_between(signed_at, today())")
    if published.db.dialect == "sqlite":
        with pytest.raises(NotExpressibleInSQL, match="Europe/Berlin"):
            published.sql(compiled, berlin)
        dates_only = compile_expression("days_between(end_date, today())")
        assert published.sql(dates_only, berlin) == published.python(dates_only, berlin)
    else:
        assert published.sql(compiled, berlin) == published.python(compiled, berlin)


def test_now_and_today_are_parameters_from_the_context(published: Published):
    later = EvaluationContext(CTX.timezone, datetime(2026, 3, 30, 16, 0, tzinfo=UTC))  # 31 March local
    compiled = compile_expression("days_between(today(), end_date)")
    assert published.sql(compiled, later)[2] == 0
    assert published.sql(compiled)[2] == 29
