"""Renames: `x-renamed-from` on a field (or an object) names what it was called in the
published release.

A rename keeps the column (or table), its values and the history under the new name; without
the keyword, a name that disappears while another appears is a removal plus an addition (the
old values set aside, the new one empty). The keyword stays harmless once published: a field
or object whose new name the release already has is not renamed again.

`x-renamed-choices` ({new choice: old choice}) on a picklist does the same for its values: the
publish plan moves the records holding the old choice to the new one (`choice_renames`).

`object_renames` and `field_renames` read the renames a publish makes against the release
before it (fields compared with the published objects seen under their new names,
`as_renamed`); `rename_problems` says, with file and JSON path, why one cannot be made (the old
name is not published, is still in use, or is claimed twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from trellis.metadata.errors import MetadataError, coded, json_path
from trellis.metadata.model import FieldDef, FieldType, MetadataSet, ObjectDef
from trellis.metadata.suggestions import closest, suggest
from trellis.metadata.validation import source_file

KEYWORD = "x-renamed-from"
CHOICES_KEYWORD = "x-renamed-choices"

#: object -> {new field name: old field name}
Renames = Mapping[str, Mapping[str, str]]


def declared(obj: ObjectDef) -> dict[str, str]:
    """{field: the name it says it was renamed from} for the fields of one definition."""
    return {f.name: f.schema[KEYWORD] for f in obj.fields.values() if isinstance(f.schema.get(KEYWORD), str)}


def choice_renames(old: FieldDef, new: FieldDef) -> dict[str, str]:
    """{old choice: new choice} that `new` (a picklist with `x-renamed-choices`) moves from the
    published `old`: only choices `old` has and `new` has not, so the keyword stays harmless
    once published."""
    declared_choices = new.schema.get(CHOICES_KEYWORD)
    if new.type is not FieldType.ENUM or not isinstance(declared_choices, Mapping):
        return {}
    return {source: target for target, source in sorted(declared_choices.items())
            if source in old.choices and target not in old.choices and target in new.choices}


def object_renames(old: Mapping[str, ObjectDef], new: Mapping[str, ObjectDef]) -> Mapping[str, str]:
    """{new object name: old name} for the objects `new` renames. (Assumes no `rename_problems`.)"""
    return MappingProxyType({name: obj.schema[KEYWORD] for name, obj in sorted(new.items())
                             if name not in old and obj.schema.get(KEYWORD) in old})


def as_renamed(old: Mapping[str, ObjectDef], renamed: Mapping[str, str]) -> dict[str, ObjectDef]:
    """The published objects with the renamed ones under their new names, and lookups to them
    pointing at the new names (indexes keep the old names: the plan drops and makes them again)."""
    if not renamed:
        return dict(old)
    new_name = {source: new for new, source in renamed.items()}
    view: dict[str, ObjectDef] = {}
    for name, obj in old.items():
        fields = {n: replace(f, ref=new_name[f.ref]) if f.ref in new_name else f for n, f in obj.fields.items()}
        view[new_name.get(name, name)] = replace(obj, name=new_name.get(name, name), fields=fields)
    return view


def field_renames(old: Mapping[str, ObjectDef], new: Mapping[str, ObjectDef]) -> Renames:
    """The renames `new` makes against `old`: fields new to the object whose old name the
    published object has. (Assumes `rename_problems` found nothing.)"""
    found: dict[str, Mapping[str, str]] = {}
    for name, obj in new.items():
        before = old.get(name)
        if before is None:
            continue
        renames = {field: source for field, source in declared(obj).items()
                   if field not in before.fields and source in before.fields}
        if renames:
            found[name] = MappingProxyType(renames)
    return MappingProxyType(found)


def rename_problems(old: MetadataSet, new: MetadataSet) -> list[MetadataError]:
    """Why the renames of `new` cannot be made against the published `old`, each with its path."""
    before, after = old.objects, new.objects
    problems = list(_object_problems(before, after))
    if problems:
        return problems
    renamed = as_renamed(before, object_renames(before, after))
    return list(_problems(renamed, after)) or list(_stale_choices(renamed, new))


def _stale_choices(old: Mapping[str, ObjectDef], new: MetadataSet) -> Iterator[MetadataError]:
    """A choice renamed while an expression of the set still compares its field with the old one
    (a rule `account.tier == '重要'` that would silently never match again): refused, so rules,
    formulas and metrics follow the rename in the same publish. An expression counts when it
    names the field and quotes the old choice."""
    moves = []
    for name, obj in sorted(new.objects.items()):
        before = old.get(name)
        for field in obj.fields.values():
            source = before.fields.get(field.schema.get(KEYWORD) or field.name) if before is not None else None
            if source is not None:
                moves += [(name, field.name, gone, target) for gone, target in choice_renames(source, field).items()]
    if not moves:
        return
    for key, document in new.items():
        file = source_file(key)
        for parts, text in _strings(document, ()):
            for object_name, field_name, gone, target in moves:
                if field_name in text and (f"'{gone}'" in text or f'"{gone}"' in text):
                    yield MetadataError(file, json_path(parts), f"still compares with '{gone}', a choice "
                                        f"{object_name}.{field_name} renames to '{target}' (x-renamed-choices); "
                                        f"write '{target}'")


def _strings(value: Any, parts: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield parts, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*parts, index))


def _object_problems(old: Mapping[str, ObjectDef], new: Mapping[str, ObjectDef]) -> Iterator[MetadataError]:
    claimed: dict[str, str] = {}
    for name, obj in sorted(new.items()):
        source = obj.schema.get(KEYWORD)
        if not isinstance(source, str) or name in old:
            continue  # no rename, or made in an earlier release
        file, path = f"objects/{name}.json", json_path((KEYWORD,))
        if source == name:
            yield MetadataError(file, path, f"'{name}' cannot be renamed from itself")
        elif source in new:
            yield MetadataError(file, path, f"'{source}' is still an object: a rename moves it to '{name}', "
                                            f"so remove objects/{source}.json")
        elif source in claimed:
            yield MetadataError(file, path, f"'{source}' is already being renamed to '{claimed[source]}'")
        elif source not in old:
            yield MetadataError(file, path, f"no published object '{source}' to rename{suggest(source, old)}")
        claimed.setdefault(source, name)


def _problems(old: Mapping[str, ObjectDef], new: Mapping[str, ObjectDef]) -> Iterator[MetadataError]:
    for name, obj in sorted(new.items()):
        before = old.get(name)
        claimed: dict[str, str] = {}
        for field, source in sorted(declared(obj).items()):
            file, path = f"objects/{name}.json", json_path(("properties", field, KEYWORD))
            if before is not None and field in before.fields:
                continue  # renamed in an earlier release (or not a rename): nothing to do now
            if source == field:
                yield MetadataError(file, path, f"'{field}' cannot be renamed from itself")
            elif source in obj.fields:
                yield MetadataError(file, path, coded(
                    "rename.source_still_a_field", f"'{source}' is still a field of '{name}': a rename moves it to "
                    f"'{field}', so remove '{source}' from properties", source=source, object=name, field=field))
            elif source in claimed:
                yield MetadataError(file, path, f"'{source}' is already being renamed to '{claimed[source]}'")
            elif before is None:
                yield MetadataError(file, path, coded(
                    "rename.object_not_published", f"'{name}' is not published yet, so it has no field '{source}' "
                    "to rename; remove x-renamed-from", object=name, source=source))
            elif source not in before.fields:
                close = closest(source, before.fields)
                yield MetadataError(file, path, coded(
                    "rename.no_published_field_close" if close else "rename.no_published_field",
                    f"the published '{name}' has no field '{source}' to rename{suggest(source, before.fields)}",
                    object=name, source=source, close=close or ""))
            claimed.setdefault(source, field)
