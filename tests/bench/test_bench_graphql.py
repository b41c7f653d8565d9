"""The GraphQL benchmark runs end to end in quick mode: a server process, both sides, both cases.
Figures are printed, never asserted."""

from __future__ import annotations

from bench import graphql
from bench.backends import open_backend
from bench.harness import Sizes


def test_quick_graphql_benchmark_reports_throughput_and_latency() -> None:
    with open_backend("sqlite") as backend:
        results = graphql.run(backend, Sizes.quick())
    assert [r.benchmark for r in results] == ["graphql/page50", "graphql/by_id"]
    for result in results:
        assert result.trellis_s > 0 and result.baseline_s > 0
        assert result.notes.count("req/s") == 2 and result.notes.count("p99") == 2
