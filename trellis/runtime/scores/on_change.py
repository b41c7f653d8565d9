"""Recompute on change: the write hook that queues a record when a field its model lists changed.

Scoring inside the write would nest a records-service write in another and make every save pay
for aggregates; instead the hook inserts one queue row per (model, record) in the write's own
transaction (so a rolled-back save queues nothing) and the worker scores the queue on its next
pass (`schedule.run_queued`). The model's own writes change only the fields it stores, which
publish refuses in `recompute_on_change`, so scoring never queues itself.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from trellis.platform.ids import new_id
from trellis.runtime.records.hooks import AfterWrite, WriteHook
from trellis.runtime.scores.tables import score_queue


class ScoreOnChange(WriteHook):
    """Queues updated records of a scored object whose listed fields changed."""

    def after_write(self, write: AfterWrite) -> None:
        if write.event != "updated":
            return
        for name, document in write.registry.metadata.documents("score_model").items():
            watched = document.get("recompute_on_change", ())
            if not watched or document["object"] != write.compiled.name or not document.get("active", True):
                continue
            ids = {after["id"] for before, after in write.changes
                   if before is not None and any(before.get(f) != after.get(f) for f in watched)}
            if not ids:
                continue
            queued = set(write.conn.execute(select(score_queue.c.record_id).where(
                score_queue.c.model == name, score_queue.c.record_id.in_(sorted(ids)))).scalars())
            fresh = sorted(ids - queued)
            if fresh:
                write.conn.execute(insert(score_queue), [
                    {"id": new_id(), "model": name, "record_id": i, "queued_at": write.context.now} for i in fresh])
