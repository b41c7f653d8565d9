"""An object as one signed-in user sees it in one language: which fields they may read or edit,
with their labels, and record values as text and links.

Every page asks here rather than reading metadata itself, so "a field they cannot read is not on
the page" holds in one place; the records service and the query compiler enforce it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from trellis.metadata.definitions import FieldDef, FieldType, ObjectDef, localized
from trellis.platform.db import Database
from trellis.runtime.access import Actor, Scope
from trellis.runtime.identity.tables import users
from trellis.runtime.query.columns import standard_field
from trellis.runtime.query.listing import MAX_PAGE, PageRequest
from trellis.runtime.records.csv_io import SYSTEM_LABELS
from trellis.runtime.records.service import RecordsService

#: Standard columns a person may care about, shown after the object's own fields.
SHOWN_STANDARD = ("owner_id", "created_at", "updated_at")
DEFAULT_COLUMNS = 6


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    field: FieldDef

    @property
    def type(self) -> str:
        return self.field.type.value


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None


class ObjectView:
    """One object for one actor in one language."""

    def __init__(self, obj: ObjectDef, actor: Actor, language: str):
        self.obj = obj
        self.actor = actor
        self.language = language
        self.name = obj.name
        self.label = localized(obj.label, language, obj.name)
        policy = actor.policy
        own = [Column(f.name, localized(f.label, language, f.name), f) for f in obj.fields.values()]
        standard = [Column(n, localized(SYSTEM_LABELS[n], language, n), f)
                    for n in SHOWN_STANDARD if (f := standard_field(n)) is not None]
        self.readable = [c for c in own + standard if policy.can_read_field(obj.name, c.name)]
        self._by_name = {c.name: c for c in self.readable}
        self.editable = [c for c in own if not c.field.computed and not c.field.schema.get("readOnly")
                         and policy.can_edit_field(obj.name, c.name)]

    def column(self, name: str) -> Column | None:
        return self._by_name.get(name)

    @property
    def default_columns(self) -> list[str]:
        """The display field first, then the others in authored order."""
        first = self.obj.display_field
        names = [c.name for c in self.readable if c.name not in SHOWN_STANDARD]
        ordered = ([first] if first in names else []) + [n for n in names if n != first]
        return ordered[:DEFAULT_COLUMNS]

    def may(self, action: str) -> bool:
        """Whether the actor may create records, or update/delete some (their own or all)."""
        if action == "create":
            return self.actor.policy.scope(self.name, "create") is Scope.ALL
        return self.actor.policy.scope(self.name, action) is not Scope.NONE  # type: ignore[arg-type]


def readable_objects(objects: Mapping[str, ObjectDef], actor: Actor, language: str) -> list[ObjectView]:
    """The objects the actor may read, by label."""
    views = [ObjectView(o, actor, language) for o in objects.values()
             if actor.policy.scope(o.name, "read") is not Scope.NONE]
    return sorted(views, key=lambda v: v.label)


class Presenter:
    """Turns records into cells: values formatted for people, lookups as links to the records
    the actor may read (named by their display field), owners by name. Names are read in one
    query per target object for a whole page of records."""

    def __init__(self, records: RecordsService, actor: Actor, app: str, t: Callable[[str], str], timezone: ZoneInfo):
        self.records = records
        self.actor = actor
        self.app = app
        self.t = t
        self.timezone = timezone

    def rows(self, view: ObjectView, columns: Sequence[Column], found: Sequence[Mapping[str, Any]]) -> list[dict[str, Cell]]:
        wanted: dict[str, set[str]] = {}
        for column in columns:
            if column.field.type is FieldType.LOOKUP and column.field.ref:
                wanted.setdefault(column.field.ref, set()).update(r[column.name] for r in found if r.get(column.name))
        names = self.lookup_names(wanted)
        people = self.people({r["owner_id"] for r in found if r.get("owner_id")}) \
            if any(c.name == "owner_id" for c in columns) else {}
        shown = [(c.name, self._formatter(c, names, people)) for c in columns]  # decided once per column
        return [{name: shows(r.get(name)) for name, shows in shown} for r in found]

    def _formatter(self, column: Column, names: Mapping[tuple[str, str], str],
                   people: Mapping[str, str]) -> Callable[[Any], Cell]:
        """`cell` for one column, with what depends only on the column worked out beforehand:
        a page of 50 rows asks it 50 times."""
        field = column.field
        if field.type.is_decimal and field.scale is not None:
            spec, suffix = f",.{field.scale}f", "%" if field.type is FieldType.PERCENT else ""
            blank = Cell("")

            def number(value: Any) -> Cell:
                if isinstance(value, Decimal):
                    return Cell(f"{format(value, spec)}{suffix}")
                return blank if value is None or value == "" else self.cell(column, value, names, people)
            return number
        return lambda value: self.cell(column, value, names, people)

    def cell(self, column: Column, value: Any, names: Mapping[tuple[str, str], str],
             people: Mapping[str, str]) -> Cell:
        if value is None or value == "" or value == []:
            return Cell("")
        field = column.field
        if field.type is FieldType.LOOKUP and field.ref:
            label = names.get((field.ref, value))
            return Cell(label, f"{self.app}/{field.ref}/{value}") if label is not None else Cell(str(value))
        if column.name == "owner_id":
            return Cell(people.get(value, value))
        return Cell(self.text(field, value))

    def text(self, field: FieldDef, value: Any) -> str:
        if isinstance(value, bool):
            return self.t("ws.yes") if value else self.t("ws.no")
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            scale = field.scale if field.scale is not None else max(0, -value.as_tuple().exponent)  # type: ignore[operator]
            shown = f"{value:,.{scale}f}"
            return f"{shown}%" if field.type is FieldType.PERCENT else shown
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return str(value)

    def when(self, value: datetime) -> str:
        """A moment in the tenant's time zone, to the minute."""
        return value.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    def lookup_names(self, wanted: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], str]:
        """(object, id) → the record's display value, for the records the actor may read; the
        others are left out (a lookup to a record one may not read shows its id, no link)."""
        names: dict[tuple[str, str], str] = {}
        for object_name, ids in wanted.items():
            obj = self.records.registry.objects.get(object_name)
            ordered = sorted(set(ids))
            if obj is None or not ordered or self.actor.policy.scope(object_name, "read") is Scope.NONE:
                continue
            shown = obj.display_field
            if shown is not None and not self.actor.policy.can_read_field(object_name, shown):
                shown = None
            for start in range(0, len(ordered), MAX_PAGE):
                chunk = ordered[start:start + MAX_PAGE]
                page = self.records.list(self.actor, object_name, PageRequest(where={"id": {"_in": chunk}}, first=len(chunk)))
                names.update({(object_name, r["id"]): str(r.get(shown) or r["id"]) if shown else r["id"]
                              for r in page.records})
        return names

    def people(self, user_ids: Iterable[str]) -> dict[str, str]:
        return user_names(self.records.db, user_ids)


def user_names(db: Database, user_ids: Iterable[str]) -> dict[str, str]:
    """user id → name (else email), in one query."""
    wanted = sorted(set(user_ids))
    if not wanted:
        return {}
    with db.read() as conn:
        rows = conn.execute(select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(wanted)))
        return {row.id: row.name or row.email for row in rows}
