"""The benchmark code runs end to end (quick sizes, SQLite). Figures are never asserted: timing
belongs in the benchmark report, not in a test that a busy machine could fail."""

from __future__ import annotations

import io

from bench.run import BENCHMARKS, main


def test_quick_run_gives_a_row_per_benchmark_with_positive_times() -> None:
    out = io.StringIO()
    results = main(["--quick", "--no-postgres"], out=out)
    for name in BENCHMARKS:
        rows = [r for r in results if r.benchmark.startswith(f"{name}/")]
        assert rows, f"no result for {name}"
        assert all(r.database == "sqlite" and r.trellis_s > 0 and r.baseline_s > 0 for r in rows)
    assert "ratio" in out.getvalue()
