"""Compute the storage plan that takes the tables of one release to those of the next.

The plan is derived from the two releases' object definitions (not from guessing at the live
database), so it is deterministic, can be shown before anything runs, and is stored with the
release. Steps come in an order that is always valid: indexes and columns go away before tables
are retired, tables exist before columns reference them, columns exist before their indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from trellis.metadata.model import FieldDef, FieldType, ObjectDef
from trellis.metadata.renames import Renames, as_renamed, choice_renames
from trellis.runtime.storage.convert import converter_for
from trellis.runtime.storage.steps import (
    AddColumn,
    AddForeignKey,
    ChangeColumnType,
    CreateIndexStep,
    CreateObjectTable,
    DropIndexStep,
    RenameChoices,
    RenameColumn,
    RenameTable,
    RetireColumn,
    RetireTable,
    Step,
    TightenField,
)
from trellis.runtime.storage.tables import standard_indexes, storage_type

_FORMAT_TYPES = {FieldType.ENUM, FieldType.EMAIL, FieldType.URL}


@dataclass(frozen=True)
class StoragePlan:
    steps: tuple[Step, ...]
    notices: tuple[str, ...] = ()
    #: (object, field) roll-ups new or redefined on an existing object: the publish computes
    #: them for the records there are (a new column would otherwise stay blank until a write)
    rollups: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.steps

    @property
    def destructive_steps(self) -> list[Step]:
        return [s for s in self.steps if s.destructive]

    def lines(self) -> list[str]:
        out = [("! " if s.destructive else "  ") + s.describe() for s in self.steps]
        out += [f"  note: {n}" for n in self.notices]
        return out or ["  no storage changes"]

    def to_json(self) -> dict[str, Any]:
        return {"steps": [s.to_json() for s in self.steps], "notices": list(self.notices)}


def narrowing_reasons(old: FieldDef, new: FieldDef) -> list[str]:
    """Ways `new` accepts fewer values than `old` while the column type stays the same (a choice
    renamed to another is moved, not removed)."""
    reasons: list[str] = []
    moved = choice_renames(old, new)
    removed = [c for c in old.choices if c not in new.choices and c not in moved]
    if removed and new.choices:
        reasons.append("choices removed: " + ", ".join(map(str, removed)))
    if new.type is not old.type and new.type in _FORMAT_TYPES:
        reasons.append(f"type {old.type.value} -> {new.type.value}")
    o, n = old.schema, new.schema
    for key, tighter in (("maxLength", min), ("maximum", min), ("exclusiveMaximum", min),
                         ("minLength", max), ("minimum", max), ("exclusiveMinimum", max)):
        if key in n and (key not in o or tighter(o[key], n[key]) == n[key] != o[key]):
            reasons.append(f"{key} {o.get(key, 'none')} -> {n[key]}")
    for key in ("pattern", "multipleOf"):
        if key in n and n.get(key) != o.get(key):
            reasons.append(f"{key} {o.get(key, 'none')} -> {n[key]}")
    return reasons


def _index_map(obj: ObjectDef) -> dict[str, tuple[tuple[str, ...], bool]]:
    indexes = {name: (cols, False) for name, cols in standard_indexes(obj)}
    indexes.update({i.name: (i.fields, i.unique) for i in obj.indexes})
    return indexes


def _creation_order(new_objects: list[ObjectDef]) -> list[ObjectDef]:
    """New objects with their lookup targets first (Kahn's algorithm); objects in a cycle keep
    their authored order and get the foreign keys that point forward added afterwards."""
    by_name = {o.name: o for o in new_objects}
    waiting_on = {o.name: {f.ref for f in o.stored_fields if f.ref in by_name and f.ref != o.name}
                  for o in new_objects}
    dependents: dict[str, list[str]] = {name: [] for name in by_name}
    for name, targets in waiting_on.items():
        for target in targets:
            dependents[target].append(name)
    ordered: list[ObjectDef] = []
    ready = [o.name for o in new_objects if not waiting_on[o.name]]
    placed: set[str] = set()
    while len(ordered) < len(new_objects):
        if not ready:  # a cycle: take the first unplaced object in authored order
            ready = [next(o.name for o in new_objects if o.name not in placed)]
        name = ready.pop(0)
        if name in placed:
            continue
        placed.add(name)
        ordered.append(by_name[name])
        for dependent in dependents[name]:
            waiting_on[dependent].discard(name)
            if not waiting_on[dependent] and dependent not in placed:
                ready.append(dependent)
    return ordered


def _as_renamed(obj: ObjectDef, renames: Mapping[str, str]) -> ObjectDef:
    """The old definition with its renamed fields under their new names (and old indexes left
    as they were, so that those naming a renamed field are dropped and made again)."""
    if not renames:
        return obj
    old_to_new = {old: new for new, old in renames.items()}
    fields = {old_to_new.get(n, n): replace(f, name=old_to_new.get(n, n)) for n, f in obj.fields.items()}
    return replace(obj, fields=fields)


def plan_storage(old: Mapping[str, ObjectDef], new: Mapping[str, ObjectDef], dialect: str, release: int,
                 renames: Renames | None = None, moved: Mapping[str, str] | None = None) -> StoragePlan:
    """The steps from `old` to `new`. `moved` ({new object: old}) are tables and `renames`
    (object -> {new field: old}) columns renamed in place, then compared under their new names."""
    renames = renames or {}
    moved = moved or {}
    drops: list[Step] = []
    renamed: list[Step] = [RenameTable(new_name, source, old[source], replace(old[source], name=new_name))
                           for new_name, source in sorted(moved.items())]
    old = as_renamed(old, moved)
    retires: list[Step] = []
    tables_retired: list[Step] = []
    creates: list[Step] = []
    adds: list[Step] = []
    deferred: list[Step] = []
    index_creates: list[Step] = []
    tightens: list[Step] = []
    choices: list[Step] = []
    rollups: list[tuple[str, str]] = []
    notices: list[str] = []

    for name in sorted(set(old) - set(new)):
        tables_retired.append(RetireTable(name, release, tuple(sorted(_index_map(old[name])))))

    existing = {n for n in old if n in new}
    created: set[str] = set(existing)
    for obj in _creation_order([new[n] for n in sorted(set(new) - set(old))]):
        late = tuple(f.name for f in obj.stored_fields
                     if f.ref and f.ref not in created and f.ref != obj.name and dialect != "sqlite")
        creates.append(CreateObjectTable(obj.name, late))
        deferred += [AddForeignKey(obj.name, f) for f in late]
        created.add(obj.name)

    for name in sorted(existing):
        before, after = old[name], new[name]
        touched: set[str] = set()
        for new_name, old_name in sorted(renames.get(name, {}).items()):
            old_field = before.fields[old_name]
            if old_field.stored:
                renamed.append(RenameColumn(name, old_name, new_name, before, after))
            touched |= {old_name, new_name}
        before = _as_renamed(before, renames.get(name, {}))
        for field_name, old_field in before.fields.items():
            new_field = after.fields.get(field_name)
            if new_field is None:
                if old_field.stored:
                    retires.append(RetireColumn(name, old_field, before, release))
                    touched.add(field_name)
                continue
            if old_field.stored and not new_field.stored:
                retires.append(RetireColumn(name, old_field, before, release,
                                            "now computed on read", is_destructive=False))
                touched.add(field_name)
            elif new_field.stored and not old_field.stored:
                adds.append(AddColumn(name, new_field, after))
                touched.add(field_name)
            elif old_field.stored and storage_type(old_field) != storage_type(new_field):
                converter = converter_for(storage_type(old_field), storage_type(new_field))
                adds.append(ChangeColumnType(
                    name, old_field, new_field, before, after, release, converter,
                    is_destructive=not (converter and converter.widening)))
                touched.add(field_name)
            else:
                moves = choice_renames(old_field, new_field)
                if moves and new_field.stored:
                    choices.append(RenameChoices(name, field_name, tuple(moves.items())))
                reasons = narrowing_reasons(old_field, new_field)
                if reasons:
                    tightens.append(TightenField(name, field_name, tuple(reasons)))
            if new_field.required and not old_field.required:
                notices.append(f"{name}.{field_name} is now required: rows without a value must "
                               "get one when next edited")
            if new_field.rollup and new_field.rollup != old_field.rollup:
                rollups.append((name, field_name))
            if new_field.formula != old_field.formula and new_field.stored and new_field.formula:
                notices.append(f"{name}.{field_name}: formula changed; stored values are recomputed "
                               "when each record is next written")
        for field_name, new_field in after.fields.items():
            if field_name not in before.fields and new_field.stored:
                adds.append(AddColumn(name, new_field, after))
                touched.add(field_name)
            if field_name not in before.fields and new_field.rollup:
                rollups.append((name, field_name))

        old_indexes, new_indexes = _index_map(before), _index_map(after)
        for index, (cols, unique) in sorted(old_indexes.items()):
            if new_indexes.get(index) != (cols, unique) or touched & set(cols):
                drops.append(DropIndexStep(name, index))
        for index, (cols, unique) in sorted(new_indexes.items()):
            if old_indexes.get(index) != (cols, unique) or touched & set(cols):
                index_creates.append(CreateIndexStep(name, index))

    steps = drops + renamed + retires + tables_retired + creates + adds + deferred + index_creates + choices + tightens
    notices += [f"{o}.{f}: roll-up computed for the existing records" for o, f in rollups]
    return StoragePlan(tuple(steps), tuple(notices), tuple(rollups))
