"""Which score models are due: a model with a schedule runs when its cron has fired since its
last run began (or when it never ran). The runs table is the watermark: a worker that was down
runs a missed model once when it comes back, not once per missed firing. Records queued by a
change of a watched field (`on_change`) are scored on the next pass, whatever the schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from trellis.metadata.cron import parse_cron
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.registry import Registry
from trellis.runtime.scores.model import ScoreModel, models_of
from trellis.runtime.scores.runner import RunReport, ScoreRunner
from trellis.runtime.scores.tables import score_queue, score_runs


def last_runs(db: Database) -> dict[str, datetime]:
    with db.read() as conn:
        rows = conn.execute(select(score_runs.c.model, func.max(score_runs.c.started_at))
                            .group_by(score_runs.c.model)).all()
    return {row[0]: row[1] for row in rows}


def due_models(models: Sequence[ScoreModel], last: dict[str, datetime], now: datetime, timezone: str) -> list[ScoreModel]:
    due = []
    for model in models:
        if not model.active or model.cron is None:
            continue
        started = last.get(model.name)
        zone = ZoneInfo(model.timezone or timezone)
        if started is None or parse_cron(model.cron).next_after(started, zone) <= now:
            due.append(model)
    return due


def run_due(db: Database, registry: Registry, timezone: str, locale: str, clock: Clock = utc_now,
            hooks: Sequence[WriteHook] = ()) -> list[RunReport]:
    """Run every model of the release whose schedule is due (the worker's job)."""
    models = list(models_of(registry.metadata).values())
    if not models:
        return []
    due = due_models(models, last_runs(db), clock(), timezone)
    return [ScoreRunner(db, registry, model, timezone, locale, clock, hooks).run("schedule") for model in due]


def run_queued(db: Database, registry: Registry, timezone: str, locale: str, clock: Clock = utc_now,
               hooks: Sequence[WriteHook] = ()) -> list[RunReport]:
    """Score the records queued by `on_change.ScoreOnChange`, then take them off the queue (rows
    queued while the run went on stay for the next pass)."""
    with db.read() as conn:
        rows = conn.execute(select(score_queue.c.model, score_queue.c.record_id, score_queue.c.queued_at)).all()
    if not rows:
        return []
    models = models_of(registry.metadata)
    reports = []
    for name in sorted({row.model for row in rows}):
        started = clock()
        ids = [row.record_id for row in rows if row.model == name]
        if name in models and models[name].active:
            reports.append(ScoreRunner(db, registry, models[name], timezone, locale, clock, hooks).run("change", ids))
        with db.write() as conn:
            conn.execute(delete(score_queue).where(score_queue.c.model == name, score_queue.c.record_id.in_(ids),
                                                   score_queue.c.queued_at <= started))
    return reports
