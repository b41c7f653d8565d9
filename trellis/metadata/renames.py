"""Field renames: `x-renamed-from` on a field names what it was called in the published release.

A rename keeps the column, its values and the field's history under the new name; without the
keyword, a field that disappears while another appears is a removal plus an addition (the old
values set aside, the new field empty). The keyword stays harmless once published: a field
whose new name the release already has is not renamed again.

`field_renames` reads the renames a publish makes against the release before it;
`rename_problems` says, with file and JSON path, why one cannot be made (the old name is not
in the published object, or is still a field of it, or another field claims it too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from trellis.metadata.errors import MetadataError, json_path
from trellis.metadata.model import MetadataSet, ObjectDef
from trellis.metadata.suggestions import suggest

KEYWORD = "x-renamed-from"

#: object -> {new field name: old field name}
Renames = Mapping[str, Mapping[str, str]]


def declared(obj: ObjectDef) -> dict[str, str]:
    """{field: the name it says it was renamed from} for the fields of one definition."""
    return {f.name: f.schema[KEYWORD] for f in obj.fields.values() if isinstance(f.schema.get(KEYWORD), str)}


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
    return list(_problems(old.objects, new.objects))


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
                yield MetadataError(file, path, f"'{source}' is still a field of '{name}': a rename "
                                                f"moves it to '{field}', so remove '{source}' from properties")
            elif source in claimed:
                yield MetadataError(file, path, f"'{source}' is already being renamed to '{claimed[source]}'")
            elif before is None:
                yield MetadataError(file, path, f"'{name}' is not published yet, so it has no field '{source}' "
                                                "to rename; remove x-renamed-from")
            elif source not in before.fields:
                yield MetadataError(file, path, f"the published '{name}' has no field '{source}' to rename"
                                                f"{suggest(source, before.fields)}")
            claimed.setdefault(source, field)
