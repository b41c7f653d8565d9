"""The GraphQL benchmark runs end to end in quick mode: a server process, both sides, both cases, and
the in-process figures of the compiled read path.
Figures are printed, never asserted."""

from __future__ import annotations

from bench import graphql
from bench.backends import open_backend
from bench.harness import Sizes


def test_quick_graphql_benchmark_reports_throughput_and_latency() -> None:
    with open_backend("sqlite") as backend:
        results = graphql.run(backend, Sizes.quick())
    assert [r.benchmark for r in results] == ["graphql/page50", "graphql/by_id", "graphql/page50_inproc",
                                              "graphql/by_id_inproc"]
    for result in results:
        assert result.trellis_s > 0 and result.baseline_s > 0
    for result in results[:2]:
        assert result.notes.count("req/s") == 2 and result.notes.count("p99") == 2
    for result in results[2:]:  # the compiled path, graphql-core and Core, with their statements
        assert result.notes.count("statements in") == 4
