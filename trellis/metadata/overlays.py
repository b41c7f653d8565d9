"""A tenant's overlay on an installed app, and the three-way merge of an app upgrade. Pure.

The overlay is not kept by hand: it is what the published set differs from the app version the
tenant installed, item by item (`provenance`): an app item is `shipped` (unchanged),
`customised` (its merge patch), or `removed` (the tenant switched it off); every other item is
`tenant` (the tenant's own). Any publish can therefore record it, whoever made the change.

An upgrade (`merge_upgrade`) merges each app item three ways: base (the installed version's
document), theirs (the new version's) and ours (the tenant's published one), with
`trellis.metadata.merge.merge3`. The tenant's own items are kept as they are; an item the new
version drops is dropped unless the tenant customised it, in which case it is kept and flagged.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.metadata.merge import MISSING, OURS, THEIRS, Conflict, PatchNotExpressible, create_patch, merge3, same
from trellis.metadata.model import ItemKey, MetadataSet

SHIPPED, CUSTOMISED, REMOVED, TENANT = "shipped", "customised", "removed", "tenant"


@dataclass(frozen=True)
class Origin:
    """Where one item of a release comes from, and what the tenant changed in it."""

    key: ItemKey
    state: str  # SHIPPED | CUSTOMISED | REMOVED | TENANT
    app: str | None = None
    patch: Any = None  # CUSTOMISED: the merge patch of the shipped document (or the whole document)
    whole: bool = False  # the patch is the whole document: a merge patch cannot set a null

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.key[0], "name": self.key[1], "state": self.state, "app": self.app}
        if self.state == CUSTOMISED:
            out["patch"] = self.patch
            if self.whole:
                out["whole"] = True
        return out


def provenance(shipped: Mapping[str, MetadataSet], published: MetadataSet) -> list[Origin]:
    """Each item of `published`, and each app item it lacks, against the installed app versions
    (`shipped`: app name -> that version's items). An item two apps ship belongs to the first."""
    owner: dict[ItemKey, str] = {}
    for app in sorted(shipped):
        for key in shipped[app]:
            owner.setdefault(key, app)
    origins: list[Origin] = []
    for key in sorted(set(published) | set(owner)):
        app = owner.get(key, "")
        if not app:
            origins.append(Origin(key, TENANT))
        elif key not in published:
            origins.append(Origin(key, REMOVED, app))
        elif same(shipped[app][key], published[key]):
            origins.append(Origin(key, SHIPPED, app))
        else:
            origins.append(_customised(key, app, shipped[app][key], published[key]))
    return origins


def _customised(key: ItemKey, app: str, base: Mapping[str, Any], document: Mapping[str, Any]) -> Origin:
    try:
        return Origin(key, CUSTOMISED, app, create_patch(dict(base), dict(document)))
    except PatchNotExpressible:
        return Origin(key, CUSTOMISED, app, dict(document), whole=True)


# -- upgrades ---------------------------------------------------------------------------------

UNCHANGED, UPDATED, MERGED, ADDED, DROPPED, KEPT, CONFLICT, OWN = (
    "unchanged", "updated", "merged", "added", "removed upstream", "kept", "conflict", "tenant")


@dataclass(frozen=True)
class Prefer:
    """A resolution: `side` wins conflicts in `item` (every item when None) at or under `parts`."""

    side: str  # OURS | THEIRS
    item: ItemKey | None = None
    parts: tuple[str | int, ...] = ()

    def matches(self, key: ItemKey, parts: tuple[str | int, ...]) -> bool:
        return (self.item is None or self.item == key) and parts[: len(self.parts)] == self.parts

    @property
    def specificity(self) -> tuple[int, int]:
        return (self.item is not None, len(self.parts))


def preference(prefers: list[Prefer], key: ItemKey) -> Callable[[tuple[str | int, ...]], str | None]:
    """The side the most specific matching `Prefer` names for a conflict at a path of `key`."""

    def side(parts: tuple[str | int, ...]) -> str | None:
        found = [p for p in prefers if p.matches(key, parts)]
        return max(found, key=lambda p: p.specificity).side if found else None

    return side


@dataclass(frozen=True)
class ItemMerge:
    """What an upgrade does to one item, and the conflicts it met (resolved or not)."""

    key: ItemKey
    outcome: str
    conflicts: tuple[Conflict, ...] = ()

    @property
    def unresolved(self) -> list[Conflict]:
        return [c for c in self.conflicts if c.resolved is None]


@dataclass
class UpgradeMerge:
    """The merged set (when nothing is left unresolved) and a line per item that is not
    simply kept as shipped."""

    items: dict[ItemKey, Mapping[str, Any]]
    report: list[ItemMerge] = field(default_factory=list)

    @property
    def unresolved(self) -> list[tuple[ItemKey, Conflict]]:
        return [(m.key, c) for m in self.report for c in m.unresolved]

    @property
    def metadata(self) -> MetadataSet:
        return MetadataSet(self.items)


def merge_upgrade(base: MetadataSet, theirs: MetadataSet, ours: MetadataSet,
                  prefers: list[Prefer] | None = None) -> UpgradeMerge:
    """Merge the tenant's set (`ours`) from the installed version (`base`) onto the new one."""
    prefers = prefers or []
    result = UpgradeMerge({})
    for key in sorted(set(base) | set(theirs) | set(ours)):
        b, o, t = (_get(s, key) for s in (base, ours, theirs))
        if b is MISSING and t is MISSING:  # the tenant's own item
            result.items[key] = o
            continue
        if t is MISSING and b is not MISSING and o is not MISSING and not same(b, o):
            result.items[key] = o
            result.report.append(ItemMerge(key, KEPT))
            continue
        merged = merge3(b, o, t, preference(prefers, key))
        if merged.value is not MISSING:
            result.items[key] = merged.value
        outcome = _outcome(b, o, t, merged.unresolved)
        if outcome != UNCHANGED or merged.conflicts:
            result.report.append(ItemMerge(key, outcome, tuple(merged.conflicts)))
    return result


def _get(metadata: MetadataSet, key: ItemKey) -> Any:
    return dict(metadata[key]) if key in metadata else MISSING


def _outcome(b: Any, o: Any, t: Any, unresolved: list[Conflict]) -> str:
    if unresolved:
        return CONFLICT
    if same(t, b) or same(o, t):
        return UNCHANGED
    if b is MISSING:
        return ADDED if o is MISSING else MERGED
    if t is MISSING:
        return DROPPED
    return UPDATED if same(o, b) else MERGED


_PART = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]""")


def parse_json_path(text: str) -> tuple[str | int, ...] | None:
    """`$.properties.amount.maximum`, `$.actions[1].subject`, `$['odd key']` as path parts (the
    form `json_path` prints); None when `text` is not such a path."""
    if not text.startswith("$"):
        return None
    parts: list[str | int] = []
    position = 1
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            return None
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else name if name is not None else
                     str(ast.literal_eval(quoted)))
        position = match.end()
    return tuple(parts)


__all__ = ["ADDED", "CONFLICT", "CUSTOMISED", "DROPPED", "KEPT", "MERGED", "OURS", "OWN", "REMOVED", "SHIPPED",
           "TENANT", "THEIRS", "UNCHANGED", "UPDATED", "ItemMerge", "Origin", "Prefer", "UpgradeMerge",
           "merge_upgrade", "parse_json_path", "preference", "provenance"]
