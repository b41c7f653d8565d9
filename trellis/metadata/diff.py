"""What changed between two metadata sets, in terms an admin reads: items and fields.

Pure and deterministic: the same two sets always give the same `MetadataDiff`, which is stored
with each release and shown before publishing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.metadata.documents import canonical_json
from trellis.metadata.model import ItemKey, MetadataSet


@dataclass(frozen=True)
class ItemChange:
    """One item added, removed or changed; for objects, which fields and keys changed."""

    kind: str
    name: str
    change: str  # "added" | "removed" | "changed" | "renamed"
    fields_added: tuple[str, ...] = ()
    fields_removed: tuple[str, ...] = ()
    fields_changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # field -> keys
    fields_renamed: Mapping[str, str] = field(default_factory=dict)  # new name -> old name
    keys_changed: tuple[str, ...] = ()  # top-level keys other than properties
    renamed_from: str | None = None  # an object renamed (x-renamed-from)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "change": self.change}
        if self.renamed_from:
            out["renamed_from"] = self.renamed_from
        if self.fields_added:
            out["fields_added"] = list(self.fields_added)
        if self.fields_removed:
            out["fields_removed"] = list(self.fields_removed)
        if self.fields_changed:
            out["fields_changed"] = {k: list(v) for k, v in self.fields_changed.items()}
        if self.fields_renamed:
            out["fields_renamed"] = dict(self.fields_renamed)
        if self.keys_changed:
            out["keys_changed"] = list(self.keys_changed)
        return out

    def lines(self) -> list[str]:
        sign = {"added": "+", "removed": "-", "changed": "~", "renamed": ">"}[self.change]
        out = [f"{sign} {self.kind} {self.renamed_from} renamed to {self.name}" if self.renamed_from
               else f"{sign} {self.kind} {self.name}"]
        out += [f"    + field {f}" for f in self.fields_added]
        out += [f"    - field {f}" for f in self.fields_removed]
        out += [f"    > field {old} renamed to {new}" for new, old in self.fields_renamed.items()]
        out += [f"    ~ field {f} ({', '.join(keys)})" for f, keys in self.fields_changed.items()]
        out += [f"    ~ {key}" for key in self.keys_changed]
        return out


@dataclass(frozen=True)
class MetadataDiff:
    changes: tuple[ItemChange, ...]

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.changes]

    def lines(self) -> list[str]:
        return [line for change in self.changes for line in change.lines()] or ["no changes"]


def _changed_keys(old: Mapping[str, Any], new: Mapping[str, Any], skip: tuple[str, ...] = ()) -> tuple[str, ...]:
    keys = [k for k in {**old, **new} if k not in skip]
    return tuple(sorted(k for k in keys if canonical_json(old.get(k)) != canonical_json(new.get(k))))


def diff_item(key: ItemKey, old: Mapping[str, Any], new: Mapping[str, Any],
              renamed: Mapping[str, str] | None = None) -> ItemChange | None:
    """`renamed` (new field name -> old, see renames.py) pairs fields that changed name, so they
    read as renamed (and changed), not as one removed and one added."""
    if canonical_json(old) == canonical_json(new):
        return None
    kind, name = key
    if kind != "object":
        return ItemChange(kind, name, "changed", keys_changed=_changed_keys(old, new))
    renamed = renamed or {}
    was = {f: renamed.get(f, f) for f in new.get("properties", {})}
    old_props: Mapping[str, Any] = old.get("properties", {})
    new_props: Mapping[str, Any] = new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    changed: dict[str, tuple[str, ...]] = {}
    for f in (f for f in new_props if was[f] in old_props):
        before = old_props[was[f]]
        after = {k: v for k, v in new_props[f].items() if k != "x-renamed-from"}
        same = canonical_json(before) == canonical_json(after)
        keys = () if same else _changed_keys(before, after)
        if (was[f] in old_required) != (f in new_required):
            keys = tuple(sorted(keys + ("required",)))
        if keys:
            changed[f] = keys
    return ItemChange(
        kind,
        name,
        "changed",
        fields_added=tuple(f for f in new_props if was[f] not in old_props),
        fields_removed=tuple(f for f in old_props if f not in set(was.values())),
        fields_changed=changed,
        fields_renamed=dict(renamed),
        keys_changed=_changed_keys(old, new, skip=("properties", "required")),
    )


def diff_sets(old: MetadataSet, new: MetadataSet, renames: Mapping[str, Mapping[str, str]] | None = None,
              moved: Mapping[str, str] | None = None) -> MetadataDiff:
    """`renames`: object -> {new field name: old}; `moved`: {new object name: old} (renames.py)."""
    changes: list[ItemChange] = []
    moved = moved or {}
    for key in sorted((set(old) | set(new)) - {("object", source) for source in moved.values()}):
        if key[0] == "object" and key[1] in moved:
            before = old[("object", moved[key[1]])]
            change = diff_item(key, before, {**new[key], "x-renamed-from": before.get("x-renamed-from")},
                               (renames or {}).get(key[1]))
            changes.append(dataclasses.replace(change or ItemChange(key[0], key[1], "changed"),
                                               change="renamed", renamed_from=moved[key[1]]))
        elif key not in old:
            changes.append(ItemChange(key[0], key[1], "added"))
        elif key not in new:
            changes.append(ItemChange(key[0], key[1], "removed"))
        else:
            change = diff_item(key, old[key], new[key], (renames or {}).get(key[1]) if key[0] == "object" else None)
            if change is not None:
                changes.append(change)
    return MetadataDiff(tuple(changes))
