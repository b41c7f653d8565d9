"""JSON merge-patches (RFC 7386) and a three-way merge of JSON documents per JSON path. Pure.

An app's item as shipped, the same item as a tenant publishes it, and the app's next version of
it are three JSON documents. What the tenant changed is a merge patch of the shipped document
(`create_patch`); an upgrade merges the three documents path by path (`merge3`): a path changed
on one side only takes that side's value, the same change on both sides is no conflict, and
different changes to the same path are a `Conflict` holding the three values.

Arrays are atomic values: an array changed on both sides differently is one conflict at the
array's path, never an element-wise merge. The arrays of metadata are mostly ordered lists whose
elements have no identity (reminder offsets, actions, recipients): matching their elements by
position would merge unrelated edits silently, and guessing a key would be a rule we could not
explain. A conflict is reported instead, and resolved with one `--prefer`.

Objects (JSON `{}`) merge per key. A key absent on one side is `MISSING`, distinct from a JSON
null, so "removed" and "set to null" never read alike.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from trellis.metadata.documents import canonical_json
from trellis.metadata.errors import Parts, json_path


class _Missing:
    """A key that is not there (not JSON null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

#: A side of a three-way merge a conflict may be resolved to.
OURS, THEIRS = "ours", "theirs"


class PatchNotExpressible(ValueError):
    """A merge patch cannot say "set this key to null" (RFC 7386: null removes the key)."""

    def __init__(self, parts: Parts):
        self.parts = tuple(parts)
        super().__init__(f"{json_path(parts)}: a JSON merge patch cannot set a key to null")


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (key order ignored); MISSING equals only MISSING."""
    if a is MISSING or b is MISSING:
        return a is b
    return canonical_json(a) == canonical_json(b)


def create_patch(base: Any, target: Any, parts: Parts = ()) -> Any:
    """The merge patch that turns `base` into `target` (`apply_patch(base, patch) == target`).

    Equal documents give `{}`. Raises PatchNotExpressible when `target` holds a null that `base`
    does not: RFC 7386 reads a null in a patch as "remove".
    """
    if not (isinstance(base, dict) and isinstance(target, dict)):
        _refuse_nulls(target, parts)
        return copy.deepcopy(target)
    patch: dict[str, Any] = {}
    for key in base:
        if key not in target:
            patch[key] = None
    for key, value in target.items():
        if key not in base:
            _refuse_nulls(value, (*parts, key))
            patch[key] = copy.deepcopy(value)
        elif not same(base[key], value):
            if value is None:
                raise PatchNotExpressible((*parts, key))
            patch[key] = create_patch(base[key], value, (*parts, key))
    return patch


def _refuse_nulls(value: Any, parts: Parts) -> None:
    if value is None:
        raise PatchNotExpressible(parts)
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nulls(item, (*parts, key))


def apply_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 MergePatch: a new document; neither argument is changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_patch(result.get(key), value)
    return result


@dataclass(frozen=True)
class Conflict:
    """Different changes to one path: its value in the base and on each side (MISSING: absent)."""

    parts: tuple[str | int, ...]
    base: Any
    ours: Any
    theirs: Any
    resolved: str | None = None  # OURS or THEIRS once a preference settled it

    @property
    def path(self) -> str:
        return json_path(self.parts)


#: Which side wins a conflict at a path, or None when nothing says (the conflict stays).
Preference = Callable[[tuple[str | int, ...]], str | None]


def no_preference(parts: tuple[str | int, ...]) -> str | None:
    return None


@dataclass
class Merged:
    """A three-way merge's result (MISSING: the document is gone) and every conflict met;
    an unresolved conflict leaves the base value at its path."""

    value: Any
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def unresolved(self) -> list[Conflict]:
        return [c for c in self.conflicts if c.resolved is None]


def merge3(base: Any, ours: Any, theirs: Any, prefer: Preference = no_preference) -> Merged:
    """Merge `ours` and `theirs`, both derived from `base`, per JSON path (see the module doc)."""
    conflicts: list[Conflict] = []
    value = _merge(base, ours, theirs, (), prefer, conflicts)
    return Merged(value, conflicts)


def _merge(base: Any, ours: Any, theirs: Any, parts: tuple[str | int, ...], prefer: Preference,
           conflicts: list[Conflict]) -> Any:
    if same(ours, theirs):
        return _copy(ours)
    if same(base, ours):
        return _copy(theirs)
    if same(base, theirs):
        return _copy(ours)
    if isinstance(ours, dict) and isinstance(theirs, dict):
        start = base if isinstance(base, dict) else {}
        result: dict[str, Any] = {}
        keys = list(ours) + [k for k in theirs if k not in ours]
        for key in keys:
            merged = _merge(start.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING),
                            (*parts, key), prefer, conflicts)
            if merged is not MISSING:
                result[key] = merged
        return result
    side = prefer(parts)
    conflicts.append(Conflict(parts, _copy(base), _copy(ours), _copy(theirs), side))
    chosen = ours if side == OURS else theirs if side == THEIRS else base
    return _copy(chosen)


def _copy(value: Any) -> Any:
    return value if value is MISSING else copy.deepcopy(value)


def changes(base: Any, other: Any, parts: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Where `other` differs from `base`, as (path, value in `other`) at the deepest path that
    says it: objects per key, arrays of the same length per position. For reports only (it is
    how a conflict on a whole array shows what each side changed in it); merging stays atomic."""
    if same(base, other):
        return []
    if isinstance(base, dict) and isinstance(other, dict):
        keys = list(base) + [k for k in other if k not in base]
        return [c for k in keys for c in changes(base.get(k, MISSING), other.get(k, MISSING), (*parts, k))]
    if isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        return [c for i, (b, o) in enumerate(zip(base, other, strict=True)) for c in changes(b, o, (*parts, i))]
    return [(parts, other)]


def show(value: Any, limit: int | None = 120) -> str:
    """A value as a report shows it: compact JSON, cut at `limit` characters (None: whole)."""
    if value is MISSING:
        return "(absent)"
    text = canonical_json(value)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def under(parts: tuple[str | int, ...], prefix: tuple[str | int, ...]) -> bool:
    """Whether `parts` is `prefix` or lies inside it."""
    return parts[: len(prefix)] == prefix


__all__ = ["MISSING", "OURS", "THEIRS", "Conflict", "Merged", "PatchNotExpressible", "Preference", "apply_patch",
           "changes", "create_patch", "merge3", "no_preference", "same", "show", "under"]
