"""From the roles a user holds to the `AccessPolicy` every data path consults.

Roles add up, never take away:

* create is granted when any role grants it; read, update and delete take the widest scope any
  role grants (none < own < all);
* a field gets the widest access any role grants it on that object. A role counts here only if
  it grants something on the object, and a role that can neither create nor update records of
  the object contributes at most `read` (its unlisted fields default to `edit`, which for that
  role only ever meant "may see");
* `admin` is full access; a role name with no document (e.g. a role removed from metadata since
  it was assigned) grants nothing.

The union is flat, as in most CRMs: a field visible through a role that reads only its own
records is visible on every record another role lets the user read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from trellis.metadata.roles import ADMIN_ROLE, grants_of
from trellis.runtime.access import FULL_ACCESS, AccessPolicy, FieldAccess, ObjectGrant, Scope

_SCOPE_RANK = {Scope.NONE: 0, Scope.OWN: 1, Scope.ALL: 2}
_ACCESS_RANK = {FieldAccess.NONE: 0, FieldAccess.READ: 1, FieldAccess.EDIT: 2}


def policy_for(role_names: Iterable[str], roles: Mapping[str, Mapping[str, Any]]) -> AccessPolicy:
    """The union of the named roles, read from their `role` documents (see the module docstring)."""
    held = set(role_names)
    if ADMIN_ROLE in held:
        return FULL_ACCESS
    by_object: dict[str, list[ObjectGrant]] = {}
    for name in sorted(held & roles.keys()):
        for obj, grant in grants_of(roles[name]).items():
            parsed = grant_of(grant)
            if _grants_anything(parsed):
                by_object.setdefault(obj, []).append(parsed)
    return AccessPolicy(grants=MappingProxyType({obj: union(grants) for obj, grants in by_object.items()}))


def grant_of(grant: Mapping[str, Any]) -> ObjectGrant:
    """One object's grant in a role document, as that role alone allows it."""
    can_write = bool(grant.get("create", False)) or grant.get("update", "none") != "none"
    cap = FieldAccess.EDIT if can_write else FieldAccess.READ
    fields = {name: _narrowest(FieldAccess(access), cap) for name, access in grant.get("fields", {}).items()}
    return ObjectGrant(
        create=bool(grant.get("create", False)),
        read=Scope(grant.get("read", "none")),
        update=Scope(grant.get("update", "none")),
        delete=Scope(grant.get("delete", "none")),
        fields=MappingProxyType(fields),
        default_field=cap,
    )


def union(grants: Iterable[ObjectGrant]) -> ObjectGrant:
    """What several grants on one object allow together: each permission at its widest."""
    grants = list(grants)
    listed = {name for grant in grants for name in grant.fields}
    fields = {name: _widest_access(g.fields.get(name, g.default_field) for g in grants) for name in sorted(listed)}
    return ObjectGrant(
        create=any(g.create for g in grants),
        read=_widest_scope(g.read for g in grants),
        update=_widest_scope(g.update for g in grants),
        delete=_widest_scope(g.delete for g in grants),
        fields=MappingProxyType(fields),
        default_field=_widest_access(g.default_field for g in grants),
    )


def _grants_anything(grant: ObjectGrant) -> bool:
    return grant.create or any(scope is not Scope.NONE for scope in (grant.read, grant.update, grant.delete))


def _widest_scope(scopes: Iterable[Scope]) -> Scope:
    return max(scopes, key=_SCOPE_RANK.__getitem__, default=Scope.NONE)


def _widest_access(accesses: Iterable[FieldAccess]) -> FieldAccess:
    return max(accesses, key=_ACCESS_RANK.__getitem__, default=FieldAccess.NONE)


def _narrowest(access: FieldAccess, cap: FieldAccess) -> FieldAccess:
    return min(access, cap, key=_ACCESS_RANK.__getitem__)
