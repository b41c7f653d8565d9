"""Score runs, the snapshot of each scored record per run and the queue of records to rescore
(migration t0007).

A snapshot keeps everything an explanation needs without the model at hand: the total, the
band, each factor's raw value, points, weight, contribution and failure (JSON), and the release
of the model that computed it, so yesterday's score still explains itself after a re-weighting.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Numeric, String, Table, Text, UniqueConstraint

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

#: One row per run of a model: what the worker's schedule reads (the last run) and the CLI reports.
score_runs = Table(
    "score_runs",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("release", Integer, nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("scored", Integer, nullable=False),
    Column("failures", Integer, nullable=False),  # factor failures recorded in snapshots
    Column("trigger", String(16), nullable=False),  # schedule, manual, change
    Index("ix_score_runs__model", "model", "started_at"),
)

#: One row per record per run: the score and how it was made.
score_snapshots = Table(
    "score_snapshots",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("run_id", String(36), nullable=False),
    Column("model", String(64), nullable=False),
    Column("release", Integer, nullable=False),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("computed_at", UtcDateTime(), nullable=False),
    Column("score", Numeric(7, 2), nullable=True),  # None when every factor was left out
    Column("band", String(100), nullable=True),
    Column("factors", Text, nullable=False),  # JSON list: name, raw, points, weight, contribution, error
    Column("failures", Integer, nullable=False),
    Index("ix_score_snapshots__record", "model", "record_id", "computed_at"),
    Index("ix_score_snapshots__run", "run_id"),
)

#: Records whose listed fields changed (`recompute_on_change`): the worker scores them on its next
#: pass and deletes the rows. One row per (model, record) however often it changes meanwhile.
score_queue = Table(
    "score_queue",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("queued_at", UtcDateTime(), nullable=False),
    UniqueConstraint("model", "record_id", name="uq_score_queue__record"),
)
