"""The benchmark code runs end to end (quick sizes, SQLite). Figures are never asserted: timing
belongs in the benchmark report, not in a test that a busy machine could fail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bench.add_field import fill_accounts
from bench.generate import contract_set
from bench.harness import Result, Sizes
from bench.raw import create_all
from bench.records import contract_input, fill_contracts, typed_row
from bench.run import BENCHMARKS, main
from trellis.platform.db import sqlite_engine
from trellis.runtime.storage import build_tables


@pytest.fixture(scope="module")
def quick_run() -> tuple[list[Result], str]:
    out = io.StringIO()
    results = main(["--quick", "--no-postgres"], out=out)
    return results, out.getvalue()


def test_quick_run_gives_a_row_per_benchmark_with_positive_times(quick_run: tuple[list[Result], str]) -> None:
    results, printed = quick_run
    for name in BENCHMARKS:
        rows = [r for r in results if r.benchmark.startswith(f"{name}/")]
        assert rows, f"no result for {name}"
        assert all(r.database == "sqlite" and r.trellis_s > 0 and r.baseline_s > 0 for r in rows)
    assert "ratio" in printed


def test_records_rows_and_the_plans_of_the_page_queries(quick_run: tuple[list[Result], str]) -> None:
    results, printed = quick_run
    records = {r.benchmark: r for r in results if r.benchmark.startswith("records_")}
    pages = ("first_page", "next_page", "deep_page", "with_total")
    assert set(records) == {"records_bulk_create/create", *(f"records_list_page/{label}" for label in pages)}
    assert "rows/s" in records["records_bulk_create/create"].notes
    for label in pages:
        result = records[f"records_list_page/{label}"]
        assert "plan uses ix_contract__status__end_date" in result.notes  # the x-index serves the page
        assert result.details in printed and "EXPLAIN QUERY PLAN" in result.details


def test_generated_contracts_are_the_same_in_python_and_in_sql(tmp_path: Path) -> None:
    """The bulk create's input and the list benchmark's SQL fill follow the same formulas."""
    sizes = Sizes(rows=300, accounts=7)
    engine = sqlite_engine(tmp_path / "contracts.db")
    table = build_tables(contract_set().objects)["contract"]
    try:
        with engine.begin() as conn:
            create_all(conn, {"contract": table})
            fill_accounts(conn, sizes)
            fill_contracts(conn, sizes)
            stored = {row.number: row._asdict() for row in conn.execute(select(table))}
    finally:
        engine.dispose()
    compared = [c.name for c in table.c if c.name not in ("id", "created_at", "updated_at")]
    assert len(stored) == sizes.rows
    for i in range(1, sizes.rows + 1):
        if i % 97 == 0 or i % 100 == 0:  # the SQL fill's rows without dates and soft-deleted rows
            continue
        expected = typed_row(contract_input(i, sizes.accounts), "", stored[f"HT{i:08d}"]["created_at"])
        assert {c: stored[f"HT{i:08d}"][c] for c in compared} == {c: expected[c] for c in compared}
