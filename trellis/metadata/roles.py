"""The `role` kind: what the holders of a role may do, object by object.

A role document (`roles/<name>.json`) grants, per object, create (yes/no), read, update and
delete (each none, own or all records) and per field none, read or edit (fields left out may be
edited). Its shape is checked by `meta_schemas/role.schema.json`; this module checks what the
meta-schema cannot say: names that must exist in the set and scopes that must fit together.
The runtime turns the roles a user holds into an access policy (trellis.runtime.identity).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from trellis.metadata.errors import Parts, coded
from trellis.metadata.kind import ItemProblem, Kind, Report, SetView
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import STANDARD_COLUMNS, check_object_name
from trellis.metadata.object_checks import sound_objects
from trellis.metadata.suggestions import closest, suggest

#: The built-in role every tenant has without any metadata: full access to everything.
ADMIN_ROLE = "admin"

#: Record scopes, narrowest first.
SCOPES = ("none", "own", "all")


def check_role_name(name: str) -> str | None:
    """None when `name` may name a role, else the sentence saying why not."""
    if name == ADMIN_ROLE:
        return f"'{ADMIN_ROLE}' is the built-in role with full access that every tenant has; choose another name"
    return check_object_name(name, "role")


def grants_of(document: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    """The per-object grants of a role document ({} when it grants nothing)."""
    grants: Mapping[str, Mapping[str, Any]] = document.get("objects", {})  # shape: role.schema.json
    return grants


def sound_grants(
    name: str, document: Mapping[str, Any], broken: Sequence[Parts], report: Report
) -> Mapping[str, Mapping[str, Any]]:
    """The per-object grants of a role document that passed its meta-schema (the role's view)."""
    broken_objects: set[str] = set()
    for parts in broken:
        if list(parts) == ["objects"]:
            return {}
        if len(parts) >= 2 and parts[0] == "objects":
            broken_objects.add(str(parts[1]))
    return {obj: grant for obj, grant in grants_of(document).items() if obj not in broken_objects}


def check_roles(view: SetView) -> Iterator[ItemProblem]:
    """Every role's grants against the objects of the set and their fields."""
    fields_of = {name: obj.properties.keys() for name, obj in sound_objects(view).items()}
    for name, grants in view.sound("role").items():
        for parts, message in check_grants(grants, view.all_names("object"), fields_of):
            yield name, parts, message


def check_grants(
    grants: Mapping[str, Mapping[str, Any]],
    object_names: Collection[str],
    fields_of: Mapping[str, Collection[str]],
) -> Iterator[tuple[Parts, str]]:
    """Problems of grants that passed the meta-schema, each with its path in the role document.

    `object_names` are every object of the set (also those too broken to check); `fields_of`
    holds the fields of the objects whose fields are known.
    """
    for obj, grant in grants.items():
        parts: Parts = ("objects", obj)
        if obj not in object_names:
            listed = ", ".join(sorted(object_names)[:20]) or "none"
            yield parts, f"'{obj}' is not an object (objects: {listed}){suggest(obj, object_names)}"
            continue
        yield from _scope_problems(parts, grant)
        if obj in fields_of:
            yield from _field_problems(parts, obj, grant.get("fields", {}), fields_of[obj])


def _scope_problems(parts: Parts, grant: Mapping[str, Any]) -> Iterator[tuple[Parts, str]]:
    """Changing or deleting records needs seeing them: neither may reach further than read."""
    read = grant.get("read", "none")
    for action in ("update", "delete"):
        scope = grant.get(action, "none")
        if SCOPES.index(scope) > SCOPES.index(read):
            yield (*parts, action), coded(
                "role.wider_than_read",
                f"{action} '{scope}' reaches further than read '{read}': a role cannot {action} records "
                f"it cannot read; set read to '{scope}' or {action} to '{read}'", action=action, scope=scope, read=read)


def _field_problems(
    parts: Parts, obj: str, fields: Mapping[str, str], known: Collection[str]
) -> Iterator[tuple[Parts, str]]:
    for field_name in fields:
        where = (*parts, "fields", field_name)
        if field_name in STANDARD_COLUMNS:
            yield where, (
                f"'{field_name}' is a standard column: it is readable whenever the record is and no role "
                "edits it, so it takes no field permission"
            )
        elif field_name not in known:
            close = closest(field_name, known)
            yield where, coded("role.not_a_field_close" if close else "role.not_a_field",
                               f"'{field_name}' is not a field of '{obj}'{suggest(field_name, known)}",
                               name=field_name, object=obj, close=close or "")


KIND = Kind(
    name="role",
    folder="roles",
    meta_validator=meta_validator("role"),
    check_name=check_role_name,
    check_document=sound_grants,
    check_set=check_roles,
)
