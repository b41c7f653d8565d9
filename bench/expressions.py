"""expressions: formulas evaluated per record in Python, and a formula filter run in SQL.

Rows:
* `evaluate`  four typical formulas (`quantity * unit_price`, `days_between(today(), end_date)`,
              `if_(amount > 100000, "大", "小")`, `coalesce(discount, 0)`) evaluated for each of
              N records (N = rows / 10: 100,000 at full size) with `evaluate()`, against the same
              four computations written as plain Python functions (blank checks included), in
              the same process. Both sides' answers are compared before timing. Pure Python:
              it runs once, on the SQLite pass.
* `filter`    `count(*)` of the records a formula filter keeps (`days_between(today(), end_date)
              <= 90 and quantity * unit_price > 1000`), translated by `to_sql` (translation
              included in the time), against the same condition written by hand in SQL for the
              dialect (minor units on SQLite, NUMERIC on PostgreSQL), over the same table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, text

from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.runtime.expressions import EvaluationContext, compile_expression, evaluate, to_sql
from trellis.runtime.releases import MetadataStore
from trellis.runtime.storage import build_tables

NAME = "expressions"
FORMULAS = (
    "quantity * unit_price",
    "days_between(today(), end_date)",
    'if_(amount > 100000, "大", "小")',
    "coalesce(discount, 0)",
)
FILTER = "days_between(today(), end_date) <= 90 and quantity * unit_price > 1000"
CTX = EvaluationContext(ZoneInfo("Asia/Shanghai"), datetime(2026, 3, 1, 17, 0, tzinfo=UTC))
METADATA = MetadataSet({("object", "line"): {"type": "object", "properties": {
    "quantity": {"type": "integer"},
    "unit_price": {"type": "number", "x-kind": "currency"},
    "amount": {"type": "number", "x-kind": "currency"},
    "discount": {"type": "number", "x-kind": "percent"},
    "end_date": {"type": "string", "format": "date"},
}}})


def records(count: int) -> list[dict[str, Any]]:
    """Deterministic records with every shape the formulas meet: blanks, cents, big amounts."""
    start = date(2025, 1, 1)
    return [{
        "id": f"r{i:07d}",
        "quantity": i % 50,
        "unit_price": Decimal(i * 7919 % 100_000) / 100,
        "amount": Decimal(i * 37 % 300_000),
        "discount": None if i % 3 == 0 else Decimal(i % 20),
        "end_date": start + timedelta(days=i % 900),
    } for i in range(count)]


def by_hand(record: dict[str, Any], today: date) -> tuple[Any, ...]:
    """The four formulas as a programmer would write them, with the same blank handling."""
    quantity, price, amount, discount, end = (record["quantity"], record["unit_price"], record["amount"],
                                              record["discount"], record["end_date"])
    return (
        None if quantity is None or price is None else quantity * price,
        None if end is None else (end - today).days,
        "大" if amount is not None and amount > 100000 else "小",
        discount if discount is not None else 0,
    )


def trellis_evaluate(rows: list[dict[str, Any]]) -> TimedRun:
    compiled = [compile_expression(source) for source in FORMULAS]  # once per release, not timed
    related: dict[str, Any] = {}

    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            for record in rows:
                for formula in compiled:
                    evaluate(formula, record, related, CTX)
    return run


def baseline_evaluate(rows: list[dict[str, Any]]) -> TimedRun:
    def run(i: int, watch: Stopwatch) -> None:
        with watch:
            today = CTX.today
            for record in rows:
                by_hand(record, today)
    return run


def check_same_answers(rows: list[dict[str, Any]]) -> None:
    compiled = [compile_expression(source) for source in FORMULAS]
    for record in rows:
        ours = tuple(evaluate(formula, record, {}, CTX) for formula in compiled)
        if ours != by_hand(record, CTX.today):
            raise AssertionError(f"evaluate() and the hand-written functions disagree on {record}: {ours}")


def fill(db: Database, rows: list[dict[str, Any]]) -> Table:
    MetadataStore(db).publish(METADATA, author="bench", message="expressions")
    table = build_tables(METADATA.objects)["line"]
    now = datetime.now(UTC)
    with db.write() as conn:
        conn.execute(insert(table), [{"created_at": now, "updated_at": now, **r} for r in rows])
    return table


def hand_written_filter(dialect: str) -> str:
    if dialect == "sqlite":  # unit_price is stored in cents
        return ("SELECT count(*) FROM obj_line WHERE julianday(end_date) - julianday(:today) <= 90 "
                "AND quantity * unit_price > 100000")
    return "SELECT count(*) FROM obj_line WHERE end_date - CAST(:today AS date) <= 90 AND quantity * unit_price > 1000"


def trellis_filter(db: Database, table: Table) -> TimedRun:
    compiled = compile_expression(FILTER)
    fields = METADATA.objects["line"].fields

    def run(i: int, watch: Stopwatch) -> None:
        with db.read() as conn:
            with watch:
                condition = to_sql(compiled, table.c, fields, db.dialect, CTX)
                conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
    return run


def baseline_filter(db: Database) -> TimedRun:
    sql = text(hand_written_filter(db.dialect))

    def run(i: int, watch: Stopwatch) -> None:
        with db.read() as conn:
            with watch:
                conn.execute(sql, {"today": CTX.today.isoformat()}).scalar_one()
    return run


def check_same_count(db: Database, table: Table) -> int:
    condition = to_sql(compile_expression(FILTER), table.c, METADATA.objects["line"].fields, db.dialect, CTX)
    with db.read() as conn:
        ours = conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
        theirs = conn.execute(text(hand_written_filter(db.dialect)), {"today": CTX.today.isoformat()}).scalar_one()
    if ours != theirs:
        raise AssertionError(f"to_sql keeps {ours} rows, the hand-written filter {theirs}")
    return int(ours)


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    count = max(sizes.rows // 10, 1)
    rows = records(count)
    results: list[Result] = []
    if backend.name == "sqlite":
        check_same_answers(rows)
        ours, theirs = compare(trellis_evaluate(rows), baseline_evaluate(rows), sizes.cpu_repeat)
        per_record = ours / count / len(FORMULAS) * 1e6
        results.append(Result(f"{NAME}/evaluate", backend.name, ours, theirs,
                              f"pure Python: {len(FORMULAS)} formulas x {count:,} records, {per_record:.2f} µs per "
                              f"evaluation, vs plain Python functions; best of {sizes.cpu_repeat}"))
    db = backend.tenant("expressions")
    table = fill(db, rows)
    kept = check_same_count(db, table)
    ours, theirs = compare(trellis_filter(db, table), baseline_filter(db), sizes.repeat)
    results.append(Result(f"{NAME}/filter", backend.name, ours, theirs,
                          f"count(*) where {FILTER!r} over {count:,} rows ({kept:,} kept), to_sql vs hand-written "
                          f"SQL; best of {sizes.repeat}"))
    return results
