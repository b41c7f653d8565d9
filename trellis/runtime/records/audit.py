"""Audit rows for every write and field-history rows for `x-track-history` fields.

Both are written in the same transaction as the change they describe, so there is never a
change without its trace, nor a trace of a change that rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from trellis.metadata.model import ObjectDef
from trellis.platform.ids import new_id
from trellis.runtime.records.tables import audit_log, field_history
from trellis.runtime.values.coercion import to_json


def _json(value: Any) -> str:
    return json.dumps(to_json(value), ensure_ascii=False)


def changes_between(before: Mapping[str, Any] | None, after: Mapping[str, Any], fields: Sequence[str]) -> dict[str, list[Any]]:
    """{field: [old, new]} (JSON values) for the fields whose value differs."""
    out: dict[str, list[Any]] = {}
    for name in fields:
        old = None if before is None else before.get(name)
        new = after.get(name)
        if old != new:
            out[name] = [to_json(old), to_json(new)]
    return out


def record_audit(conn: Connection, at: datetime, actor: str, object_name: str,
                 entries: Sequence[tuple[str, str, Mapping[str, list[Any]]]]) -> None:
    """One audit row per (record id, action, changes)."""
    if entries:
        conn.execute(insert(audit_log), [
            {"id": new_id(), "at": at, "actor": actor, "object": object_name, "record_id": record_id,
             "action": action, "changes": json.dumps(changes, ensure_ascii=False)}
            for record_id, action, changes in entries])


def record_history(conn: Connection, at: datetime, actor: str, obj: ObjectDef,
                   entries: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> None:
    """Field-history rows for tracked fields that changed: entries are (id, before, after)."""
    tracked = [f.name for f in obj.fields.values() if f.track_history]
    rows = [
        {"id": new_id(), "object": obj.name, "record_id": record_id, "field": name,
         "old_value": _json(before.get(name)), "new_value": _json(after.get(name)),
         "changed_at": at, "changed_by": actor}
        for record_id, before, after in entries
        for name in tracked if before.get(name) != after.get(name)
    ]
    if rows:
        conn.execute(insert(field_history), rows)


def history_of(conn: Connection, object_name: str, record_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(field_history).where(
        (field_history.c.object == object_name) & (field_history.c.record_id == record_id)
    ).order_by(field_history.c.changed_at, field_history.c.id)).mappings()
    return [{**row, "old_value": json.loads(row["old_value"]), "new_value": json.loads(row["new_value"])}
            for row in rows]

