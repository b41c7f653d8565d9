"""Run the benchmarks and print each figure as a ratio against its same-run baseline.

    python bench/run.py [--quick] [--only NAME] [--postgres/--no-postgres]

PostgreSQL runs when TRELLIS_BENCH_POSTGRES_URL (or TRELLIS_TEST_POSTGRES_URL) names a server
whose user may create databases; each benchmark gets a fresh database there, dropped afterwards.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

if __package__ in (None, ""):  # run as a script: make `bench` and `trellis` importable from the checkout
    here = Path(__file__).resolve().parent  # not importable as such: bench/graphql.py would shadow graphql-core
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.path.insert(0, str(here.parent))

from bench import (  # noqa: E402
    add_field,
    approvals,
    expressions,
    graphql,
    handover,
    metrics,
    publish,
    records,
    reminders,
    scores,
    templates,
    workspace,
)
from bench.backends import Backend, open_backend, postgres_server_url, server_version  # noqa: E402
from bench.harness import Result, Sizes, format_table  # noqa: E402

Benchmark = Callable[[Backend, Sizes], list[Result]]
BENCHMARKS: dict[str, Benchmark] = {publish.NAME: publish.run, add_field.NAME: add_field.run,
                                     expressions.NAME: expressions.run, records.NAME_CREATE: records.run_create,
                                     records.NAME_LIST: records.run_list, graphql.NAME: graphql.run,
                                     reminders.NAME: reminders.run, templates.NAME: templates.run,
                                     approvals.NAME: approvals.run, handover.NAME: handover.run,
                                     scores.NAME: scores.run, metrics.NAME: metrics.run,
                                     workspace.NAME: workspace.run}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Trellis benchmarks, as ratios against a same-run baseline.")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark code itself")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    parser.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None,
                        help="also run on PostgreSQL (default: when a server URL is set)")
    return parser.parse_args(argv)


def databases(want_postgres: bool | None, server_url: str | None, out: TextIO) -> list[str]:
    """SQLite always; PostgreSQL when asked for (or by default) and a server is configured."""
    if want_postgres is False:
        return ["sqlite"]
    if server_url is None:
        if want_postgres:
            raise SystemExit("--postgres: set TRELLIS_BENCH_POSTGRES_URL (or TRELLIS_TEST_POSTGRES_URL)")
        print("PostgreSQL skipped: TRELLIS_BENCH_POSTGRES_URL / TRELLIS_TEST_POSTGRES_URL is not set", file=out)
        return ["sqlite"]
    return ["sqlite", "postgresql"]


def run_benchmarks(names: Sequence[str], dbs: Sequence[str], sizes: Sizes,
                   server_url: str | None = None, progress: TextIO | None = None) -> list[Result]:
    """Every (database, benchmark) pair, each on fresh storage; results in run order."""
    results: list[Result] = []
    for database in dbs:
        for name in names:
            started = time.perf_counter()
            with open_backend(database, server_url) as backend:
                rows = BENCHMARKS[name](backend, sizes)
            results += rows
            if progress is not None:
                print(f"  {name} on {database}: {time.perf_counter() - started:.1f}s", file=progress, flush=True)
    return results


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> list[Result]:
    args = parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    server_url = postgres_server_url()
    dbs = databases(args.postgres, server_url, out)
    names = [args.only] if args.only else list(BENCHMARKS)
    versions = ", ".join(server_version(db, server_url) for db in dbs)
    print(f"Trellis benchmarks ({'quick' if args.quick else 'full'} sizes) on {versions}; "
          f"Python {sys.version.split()[0]}", file=out, flush=True)
    results = run_benchmarks(names, dbs, sizes, server_url, progress=sys.stderr)
    print(format_table(results), file=out)
    print("ratio = trellis / baseline (best of N each, same process, same run); lower is better", file=out)
    for result in results:
        if result.details:
            print(f"\n{result.details}", file=out)
    return results


if __name__ == "__main__":
    main()
