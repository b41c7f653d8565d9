"""Does a score predict churn? Past snapshots against what happened next, for a model and a candidate.

Each snapshot of a record is paired with the outcomes (records of the model's `backtest.object`,
e.g. contracts) dated within `within_days` after it: churned if any churned, renewed if any
renewed and none churned; snapshots with no outcome in the window are left out. For those pairs:
the churn rate per band and the AUC — the chance that a record that renewed scored higher than
one that churned (ties count half; 0.5 is a coin, 1.0 a perfect order).

A candidate model (new weights, scales or bands) is scored from the same snapshots: each keeps
every factor's raw value, so the candidate's factors of the same name are re-scaled and
re-weighted without recomputing anything. A candidate factor no snapshot has (a new name) is
reported and left out, as a blank excluded factor would be.

Past dates can be asked for (`as_of`; without them and without any snapshot, the day
`within_days` before today): on such a date a record with an outcome but no snapshot that day (a
tenant whose history was imported, a model published lately) is recomputed as of that date from
dated data: each aggregate counts the related rows its `date_field` dates on or before the date
(its window ending there), `today()` is that date, and the record's own fields are read as they
are now. A factor reading an aggregate without a `date_field` cannot be dated: it is scored
blank (its blank rule) and named in the result. Snapshot days are not recomputed (a record
without a snapshot on a day others have one did not exist yet, or was not scored). The result
says how many pairs came from snapshots and how many were recomputed.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from trellis.metadata.model import FieldType
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.expressions import EvaluationContext, compile_expression, to_sql
from trellis.runtime.query.columns import STANDARD_FIELDS
from trellis.runtime.scores.aggregates import BatchAggregates
from trellis.runtime.scores.model import FactorResult, ScoreModel, band_of, combine, points, whole
from trellis.runtime.scores.scoring import RecordScorer, snapshot_factor
from trellis.runtime.scores.tables import score_snapshots

DEFAULT_DAYS = 90
BATCH = 1000

Outcomes = dict[str, tuple[list[date], list[bool]]]
#: (score, band, the factors as a snapshot keeps them, churned)
Pair = tuple[float | None, str | None, list[dict[str, Any]], bool]


@dataclass(frozen=True)
class BandOutcome:
    band: str
    records: int
    churned: int

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.records if self.records else None


@dataclass(frozen=True)
class Evaluation:
    model: str
    pairs: int
    churned: int
    auc: float | None  # None without both a churned and a renewed pair
    bands: list[BandOutcome]
    missing_factors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Backtest:
    days: int
    snapshots: int
    current: Evaluation
    candidate: Evaluation | None
    as_of: list[date] = field(default_factory=list)  # the dates scored
    from_snapshots: int = 0  # pairs (a record on a date, with an outcome) scored by a snapshot
    recomputed: int = 0  # pairs recomputed from dated data: no snapshot of the record that day
    undated: list[str] = field(default_factory=list)  # factors scored blank when recomputed


def backtest(conn: Connection, registry: Any, model: ScoreModel, document: Mapping[str, Any],
             context: EvaluationContext, candidate: ScoreModel | None = None, days: int | None = None,
             as_of: Sequence[date] = ()) -> Backtest:
    """`document` is the published model's (its `backtest` block says where outcomes are)."""
    spec = document.get("backtest")
    if spec is None:
        raise InvalidInput("the model has no backtest", [FieldProblem(
            "backtest", f"score model {model.name} says nothing of outcomes; add a \"backtest\" block "
                        "(object, via, date_field, churned, renewed)")])
    window = days or spec.get("within_days", DEFAULT_DAYS)
    outcomes = _outcomes(conn, registry, spec, context)
    rows = conn.execute(select(score_snapshots.c.record_id, score_snapshots.c.computed_at, score_snapshots.c.score,
                               score_snapshots.c.band, score_snapshots.c.factors)
                        .where(score_snapshots.c.model == model.name)).all()
    pairs: list[Pair] = []
    snapshotted: dict[date, set[str]] = {}  # day -> records with a snapshot that day
    for row in rows:
        day = row.computed_at.astimezone(context.timezone).date()
        snapshotted.setdefault(day, set()).add(row.record_id)
        found = _outcome(outcomes.get(row.record_id, ([], [])), day, window)
        if found is not None:
            pairs.append((None if row.score is None else float(row.score), row.band, json.loads(row.factors), found))
    from_snapshots = len(pairs)
    today = context.now.astimezone(context.timezone).date()
    asked = sorted(set(as_of)) or ([] if snapshotted else [today - timedelta(days=window)])
    dated = _DatedScores(conn, registry, model, context)
    for day in asked:
        wanted = sorted(r for r, found in outcomes.items()
                        if r not in snapshotted.get(day, ()) and _outcome(found, day, window) is not None)
        pairs += [(score, band, factors, bool(_outcome(outcomes[r], day, window)))
                  for r, score, band, factors in dated.score(wanted, day)]
    current = _evaluate(model.name, [(score, band, churned) for score, band, _, churned in pairs if score is not None],
                        [b.value for b in model.bands])
    scored_candidate = None
    if candidate is not None:
        missing = sorted({f.name for f in candidate.factors} - {f.name for f in model.factors})
        rescored = [(*_rescore(candidate, factors), churned) for _, _, factors, churned in pairs]
        scored_candidate = _evaluate(candidate.name, [(s, b, c) for s, b, c in rescored if s is not None],
                                     [b.value for b in candidate.bands], missing)
    return Backtest(window, len(rows), current, scored_candidate, sorted(set(asked) | set(snapshotted)),
                    from_snapshots, len(pairs) - from_snapshots, dated.undated_factors)


class _DatedScores:
    """Records scored as of a past date from dated data, batch by batch (set-based, as a run)."""

    def __init__(self, conn: Connection, registry: Any, model: ScoreModel, context: EvaluationContext):
        self.conn = conn
        self.registry = registry
        self.model = model
        self.context = context
        undated = {a.name for a in model.aggregates if a.date_field is None}
        self.undated_factors = [f.name for f in model.factors if f.value.names & undated]
        self.scorer = RecordScorer(registry, model, blank=self.undated_factors)

    def score(self, record_ids: Sequence[str], day: date) -> list[tuple[str, float | None, str | None,
                                                                          list[dict[str, Any]]]]:
        if not record_ids:
            return []
        zone = self.context.timezone
        end = datetime.combine(day + timedelta(days=1), time(), zone) - timedelta(microseconds=1)
        context = EvaluationContext(zone, end)
        aggregates = BatchAggregates(self.registry, self.model.aggregates, self.conn.dialect.name, context, as_of=True)
        table = self.registry.tables[self.model.object]
        out = []
        for start in range(0, len(record_ids), BATCH):
            chunk = record_ids[start:start + BATCH]
            rows = [dict(r) for r in self.conn.execute(select(table).where(
                table.c.id.in_(chunk), table.c.deleted_at.is_(None)).order_by(table.c.id)).mappings()]
            out += [(s.record_id, None if s.score is None else float(s.score), s.band,
                     [snapshot_factor(f) for f in s.factors]) for s in self.scorer.score(self.conn, rows, aggregates, context)]
        return out


def _outcomes(conn: Connection, registry: Any, spec: Mapping[str, Any],
              context: EvaluationContext) -> Outcomes:
    """Per scored record: the outcome dates in order and whether each churned."""
    obj = registry.objects[spec["object"]]
    table = registry.tables[spec["object"]]
    columns = {name: table.c[name] for name in STANDARD_FIELDS}
    columns.update({f.name: table.c[f.name] for f in obj.stored_fields})
    fields = {**STANDARD_FIELDS, **obj.fields}
    dialect = conn.dialect.name
    churned = to_sql(compile_expression(spec["churned"]), columns, fields, dialect, context)
    renewed = to_sql(compile_expression(spec["renewed"]), columns, fields, dialect, context)
    dated = table.c[spec["date_field"]]
    found: dict[str, list[tuple[date, bool]]] = {}
    statement = select(table.c[spec["via"]], dated, churned.label("churned")).where(
        table.c.deleted_at.is_(None), dated.is_not(None), churned | renewed)
    for via, when, lost in conn.execute(statement):
        if via is None:
            continue
        day = when.astimezone(context.timezone).date() if obj.fields[spec["date_field"]].type is FieldType.DATETIME \
            and isinstance(when, datetime) else when
        found.setdefault(via, []).append((day, bool(lost)))
    return {key: ([d for d, _ in sorted(items)], [c for _, c in sorted(items)]) for key, items in found.items()}


def _outcome(outcomes: tuple[list[date], list[bool]], day: date, window: int) -> bool | None:
    """Churned (True), renewed (False) or no outcome (None) in (day, day + window]."""
    dates, churned = outcomes
    low, high = bisect_right(dates, day), bisect_right(dates, day + timedelta(days=window))
    if low == high:
        return None
    return any(churned[low:high])


def _rescore(candidate: ScoreModel, factors: Sequence[Mapping[str, Any]]) -> tuple[float | None, str | None]:
    raw = {f["name"]: f for f in factors}
    results = []
    for factor in candidate.factors:
        kept = raw.get(factor.name)
        value = None if kept is None or kept.get("error") else kept.get("raw")
        if kept is None:
            results.append(FactorResult(factor.name, None, None, factor.weight))
        elif value is None:
            results.append(FactorResult(factor.name, None, factor.neutral, factor.weight))
        else:
            results.append(FactorResult(factor.name, value, points(value, factor.scale), factor.weight))
    total, _ = combine(results)
    if total is None:
        return None, None
    return float(total), band_of(whole(Decimal(total)), candidate.bands)


def _evaluate(name: str, scored: Sequence[tuple[float, str | None, bool]], bands: Sequence[str],
              missing: Sequence[str] = ()) -> Evaluation:
    per_band = {band: [0, 0] for band in bands}
    for _, band, churned in scored:
        counts = per_band.setdefault(band or "—", [0, 0])
        counts[0] += 1
        counts[1] += int(churned)
    return Evaluation(name, len(scored), sum(1 for *_, c in scored if c), _auc(scored),
                      [BandOutcome(b, n, c) for b, (n, c) in per_band.items()], list(missing))


def _auc(scored: Sequence[tuple[float, str | None, bool]]) -> float | None:
    """P(a renewed record scored higher than a churned one), ties half, by ranks (n log n)."""
    kept = sorted(s for s, _, c in scored if not c)
    lost = [s for s, _, c in scored if c]
    if not kept or not lost:
        return None
    wins = 0.0
    for score in lost:
        below, above = bisect_left(kept, score), bisect_right(kept, score)
        wins += (len(kept) - above) + (above - below) / 2
    return wins / (len(kept) * len(lost))
