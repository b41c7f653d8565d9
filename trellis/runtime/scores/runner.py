"""Running a score model: every record of its object, batch by batch, set-based.

A batch is one transaction: read the records (one statement), their lookups (one per lookup
the factors read), the aggregates (one per group of related rows, `aggregates.BatchAggregates`),
then evaluate the factors in memory, write the changed scores and bands through the records
service (so rules fire and history is kept) and insert one snapshot per record. A factor that
fails on a record is recorded in that record's snapshot and scored as blank; the batch goes on.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database, JoinedDatabase
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.records.service import RecordsService, UpdateItem
from trellis.runtime.scores.aggregates import BatchAggregates
from trellis.runtime.scores.model import ScoreModel, whole
from trellis.runtime.scores.scoring import RecordScorer, Scored, snapshot_factor
from trellis.runtime.scores.tables import score_runs, score_snapshots

DEFAULT_BATCH = 1000


@dataclass
class RunReport:
    run_id: str
    model: str
    scored: int = 0
    changed: int = 0
    failures: int = 0
    batches: int = 0
    statements_per_batch: int = 0  # reads before the write: records, lookups, aggregates
    problems: list[str] = field(default_factory=list)  # records the records service refused


class ScoreRunner:
    """Runs one model over one registry; `records` is built per batch on the batch's connection."""

    def __init__(self, db: Database, registry: Any, model: ScoreModel, timezone: str, locale: str,
                 clock: Clock = utc_now, hooks: Sequence[WriteHook] = (), batch: int = DEFAULT_BATCH):
        self.db = db
        self.registry = registry
        self.model = model
        self.timezone = timezone
        self.locale = locale
        self.clock = clock
        self.hooks = tuple(hooks)
        self.batch = batch
        self.scorer = RecordScorer(registry, model)

    def run(self, trigger: str = "manual", record_ids: Sequence[str] | None = None,
            on_batch: Callable[[RunReport], None] | None = None) -> RunReport:
        """Score every live record (or those of `record_ids`)."""
        context = EvaluationContext(ZoneInfo(self.timezone), self.clock())
        report = RunReport(new_id(), self.model.name)
        with self.db.write() as conn:
            conn.execute(insert(score_runs).values(id=report.run_id, model=self.model.name, release=self.registry.release,
                                                   started_at=context.now, scored=0, failures=0, trigger=trigger))
        aggregates = BatchAggregates(self.registry, self.model.aggregates, self.db.dialect, context)
        report.statements_per_batch = 1 + len(self.scorer.lookups) + aggregates.statements()
        table = self.registry.tables[self.model.object]
        wanted = sorted(set(record_ids)) if record_ids is not None else None
        after = ""
        while True:
            with self.db.write() as conn:
                statement = select(table).where(table.c.deleted_at.is_(None), table.c.id > after)
                if wanted is not None:  # the next batch of the ids asked for
                    chunk = wanted[bisect_right(wanted, after):][:self.batch]
                    if not chunk:
                        break
                    statement = statement.where(table.c.id.in_(chunk))
                rows = [dict(r) for r in conn.execute(statement.order_by(table.c.id).limit(self.batch)).mappings()]
                if not rows and wanted is None:
                    break
                after = chunk[-1] if wanted is not None else rows[-1]["id"]
                if rows:
                    scored = self.scorer.score(conn, rows, aggregates, context)
                    self._write(conn, scored, context, report)
            report.batches += 1
            if on_batch is not None:
                on_batch(report)
        with self.db.write() as conn:
            conn.execute(update(score_runs).where(score_runs.c.id == report.run_id)
                         .values(finished_at=self.clock(), scored=report.scored, failures=report.failures))
        return report

    def _write(self, conn: Connection, scored: list[Scored], context: EvaluationContext, report: RunReport) -> None:
        model = self.model
        items: list[UpdateItem] = []
        for result in scored:
            score = whole(result.score) if result.score is not None else None
            changes: dict[str, Any] = {model.score_field: score, model.band_field: result.band}
            if model.change_field is not None:
                previous = result.previous
                changes[model.change_field] = score - int(previous) if score is not None and previous is not None else None
            if any(result.stored.get(key) != value for key, value in changes.items()):
                items.append(UpdateItem(result.record_id, changes))  # unchanged records are not written
        if items:
            records = RecordsService(JoinedDatabase(self.db, conn), self.registry, self.timezone, self.locale,
                                     lambda: context.now, hooks=self.hooks)
            outcome = records.update_many(Actor.system(), model.object, items, mode="skip-bad-rows")
            report.changed += outcome.written
            for index, problems in outcome.problems.items():
                report.problems.append(f"{items[index].id}: " + "; ".join(f"{p.path}: {p.message}" for p in problems))
        conn.execute(insert(score_snapshots), [{
            "id": new_id(), "run_id": report.run_id, "model": model.name, "release": self.registry.release,
            "object": model.object, "record_id": s.record_id, "computed_at": context.now, "score": s.score,
            "band": s.band, "factors": json.dumps([snapshot_factor(f) for f in s.factors], ensure_ascii=False),
            "failures": s.failures} for s in scored])
        report.scored += len(scored)
        report.failures += sum(s.failures for s in scored)
