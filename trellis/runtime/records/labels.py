"""What people call records: their display field's value (`ObjectDef.display_field`), read in
one query per object for a list of messages, a preview or a page of tasks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, select

from trellis.runtime.records.related import LOOKUP_BATCH
from trellis.runtime.registry import Registry


def record_labels(conn: Connection, registry: Registry, wanted: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], str]:
    """(object, id) -> the record's display value; the id itself where the object has no display
    field, the value is blank, or the record is gone."""
    by_object: dict[str, set[str]] = {}
    for object_name, record_id in wanted:
        by_object.setdefault(object_name, set()).add(record_id)
    labels: dict[tuple[str, str], str] = {}
    for object_name, ids in by_object.items():
        obj = registry.objects.get(object_name)
        shown = obj.display_field if obj is not None else None
        found: dict[str, str] = {}
        if shown is not None:
            table = registry.tables[object_name]
            ordered = sorted(ids)
            for start in range(0, len(ordered), LOOKUP_BATCH):
                rows = conn.execute(select(table.c.id, table.c[shown]).where(table.c.id.in_(ordered[start:start + LOOKUP_BATCH])))
                found.update({row[0]: str(row[1]) for row in rows if row[1] not in (None, "")})
        labels.update({(object_name, i): found.get(i, i) for i in ids})
    return labels
