"""Scoring a batch of records from their rows, lookups and aggregates, in memory.

The runner scores records as they are now; the backtest scores them as of a past date (its
aggregates restricted to the related rows dated on or before it). Both read the same way: the
records' lookups one statement per lookup, the aggregates one per group of related rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.scores.aggregates import BatchAggregates
from trellis.runtime.scores.model import Factor, FactorResult, ScoreModel, band_of, combine, points, whole


@dataclass(frozen=True)
class Scored:
    """One record's result in a run."""

    record_id: str
    score: Decimal | None
    band: str | None
    factors: list[FactorResult]
    stored: Mapping[str, Any]  # the fields the model writes, as stored before this run
    previous: Any  # the score stored before this run

    @property
    def failures(self) -> int:
        return sum(1 for f in self.factors if f.error)


class RecordScorer:
    """Scores rows of the model's object; `blank` names factors to score as blank (the backtest's
    factors that read an aggregate it cannot date)."""

    def __init__(self, registry: Any, model: ScoreModel, blank: Collection[str] = ()):
        self.registry = registry
        self.model = model
        self.blank = frozenset(blank)
        self.lookups = sorted({base for f in model.factors for base in f.value.lookups})

    def score(self, conn: Connection, rows: list[dict[str, Any]], aggregates: BatchAggregates,
              context: EvaluationContext) -> list[Scored]:
        related = self._related(conn, rows)
        values = aggregates.compute(conn, [r["id"] for r in rows])
        out = []
        for row in rows:
            record = {**row, **{name: found.get(row["id"]) for name, found in values.items()}}
            linked = {lookup: related[lookup].get(row[lookup]) if row.get(lookup) else None for lookup in self.lookups}
            results = [self._factor(factor, record, linked, context) for factor in self.model.factors]
            total, combined = combine(results)
            band = band_of(whole(total), self.model.bands) if total is not None else None
            model = self.model
            stored = {f: row.get(f) for f in (model.score_field, model.band_field, model.change_field) if f}
            out.append(Scored(row["id"], total, band, combined, stored, row.get(model.score_field)))
        return out

    def _factor(self, factor: Factor, record: Mapping[str, Any], related: Mapping[str, Any],
                context: EvaluationContext) -> FactorResult:
        if factor.name in self.blank:
            return FactorResult(factor.name, None, factor.neutral, factor.weight)
        try:
            raw = evaluate(factor.value, record, related, context)
        except EvaluationError as error:
            return FactorResult(factor.name, None, factor.neutral, factor.weight, error=str(error))
        if raw is None or raw == "":
            return FactorResult(factor.name, None, factor.neutral, factor.weight)
        try:
            return FactorResult(factor.name, raw, points(raw, factor.scale), factor.weight)
        except (TypeError, ArithmeticError) as error:
            return FactorResult(factor.name, raw, factor.neutral, factor.weight, error=f"cannot be scored: {error}")

    def _related(self, conn: Connection, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The records each lookup the factors read points to, one statement per lookup."""
        found: dict[str, dict[str, Any]] = {}
        fields = self.registry.objects[self.model.object].fields
        for lookup in self.lookups:
            target = self.registry.tables[fields[lookup].ref]
            ids = sorted({r[lookup] for r in rows if r.get(lookup)})
            found[lookup] = {r["id"]: dict(r) for r in conn.execute(select(target).where(target.c.id.in_(ids))).mappings()}
        return found


def snapshot_factor(result: FactorResult) -> dict[str, Any]:
    """A factor result as a snapshot keeps it (JSON)."""
    return {"name": result.name, "raw": _json_value(result.raw),
            "points": _number(result.points), "weight": _number(result.weight),
            "applied_weight": _number(result.applied_weight) if result.points is not None else None,
            "contribution": _number(result.contribution) if result.points is not None else None,
            "error": result.error}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
