"""Reading what a record's formulas, rules and templates need beyond its own row: the records
its lookups point to, in batches, and its live formulas (those reading the clock) as of now.

The write pipeline, reads and workflow firings all use these, so a formula or a condition sees
a record the same way wherever it is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from trellis.runtime.compiled import CompiledObject
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate

LOOKUP_BATCH = 500  # ids per IN (...) list


def fetch_related(conn: Connection, registry: Any, compiled: CompiledObject, records: Sequence[Mapping[str, Any]],
                  lookups: Iterable[str]) -> list[dict[str, Mapping[str, Any] | None]]:
    """For each record, the related record of each named lookup field (None when blank or
    gone), read in batches of LOOKUP_BATCH ids per lookup: never a query per record."""
    out: list[dict[str, Mapping[str, Any] | None]] = [{} for _ in records]
    for name in lookups:
        field_def = compiled.definition.fields.get(name)
        if field_def is None or field_def.ref is None:
            continue
        table = registry.tables[field_def.ref]
        ids = sorted({value for r in records if (value := r.get(name)) is not None})
        rows: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(ids), LOOKUP_BATCH):
            chunk = ids[start:start + LOOKUP_BATCH]
            rows.update({r["id"]: dict(r) for r in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings()})
        for record, related in zip(records, out, strict=True):
            value = record.get(name)
            related[name] = rows.get(value) if value is not None else None
    return out


def compute_live(compiled: CompiledObject, record: dict[str, Any], related: Mapping[str, Mapping[str, Any] | None],
                 context: EvaluationContext) -> None:
    """Fill in the live formulas (those reading the clock) of one record as of `context`; a
    live value that cannot be computed reads as blank."""
    for name in compiled.live_order:
        try:
            record[name] = evaluate(compiled.formulas[name], record, related, context)
        except EvaluationError:
            record[name] = None
