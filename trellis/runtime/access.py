"""Who may do what: the `Actor` behind every call and the `AccessPolicy` that answers for it.

Policies are built from `role` metadata (see trellis.runtime.identity) for the roles a user holds;
the records service and the query compiler consult the same policy, so every path — GraphQL,
designer, imports, automation — obeys the same rules.

* Object permissions: create (yes/no); read, update, delete with a scope: none, own records
  (`owner_id` is the actor), or all records.
* Field permissions: none, read or edit. A field the actor cannot read cannot be returned,
  filtered, sorted, grouped or aggregated on, also through a lookup.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from trellis.metadata.names import STANDARD_COLUMNS

Action = Literal["create", "read", "update", "delete"]


class Scope(enum.Enum):
    NONE = "none"
    OWN = "own"
    ALL = "all"


class FieldAccess(enum.Enum):
    NONE = "none"
    READ = "read"
    EDIT = "edit"


#: Columns every record has; readable whenever the record is, never edited directly.
SYSTEM_FIELDS = frozenset(STANDARD_COLUMNS)


@dataclass(frozen=True)
class ObjectGrant:
    """What a policy allows on one object. Fields not listed in `fields` get `default_field`."""

    create: bool = False
    read: Scope = Scope.NONE
    update: Scope = Scope.NONE
    delete: Scope = Scope.NONE
    fields: Mapping[str, FieldAccess] = field(default_factory=dict)
    default_field: FieldAccess = FieldAccess.EDIT


NO_GRANT = ObjectGrant()


@dataclass(frozen=True)
class AccessPolicy:
    """The union of a user's roles, ready to answer questions fast."""

    is_admin: bool = False
    grants: Mapping[str, ObjectGrant] = field(default_factory=dict)

    def grant(self, obj: str) -> ObjectGrant:
        return self.grants.get(obj, NO_GRANT)

    def scope(self, obj: str, action: Action) -> Scope:
        if self.is_admin:
            return Scope.ALL
        grant = self.grant(obj)
        if action == "create":
            return Scope.ALL if grant.create else Scope.NONE
        return {"read": grant.read, "update": grant.update, "delete": grant.delete}[action]

    def field_access(self, obj: str, field_name: str) -> FieldAccess:
        if self.is_admin:
            return FieldAccess.EDIT
        grant = self.grant(obj)
        if grant.read is Scope.NONE:
            return FieldAccess.NONE
        if field_name in SYSTEM_FIELDS:
            return FieldAccess.READ
        access = grant.fields.get(field_name, grant.default_field)
        if access is FieldAccess.EDIT and grant.update is Scope.NONE and not grant.create:
            return FieldAccess.READ
        return access

    def can_read_field(self, obj: str, field_name: str) -> bool:
        return self.field_access(obj, field_name) is not FieldAccess.NONE

    def can_edit_field(self, obj: str, field_name: str) -> bool:
        return self.field_access(obj, field_name) is FieldAccess.EDIT


FULL_ACCESS = AccessPolicy(is_admin=True, grants=MappingProxyType({}))


#: The id audit rows and history carry for writes made by the platform itself (automation, migrations).
SYSTEM_USER = "system"


@dataclass(frozen=True)
class Actor:
    """The user (or the system) on whose behalf a call runs; passed explicitly, never global."""

    user_id: str
    email: str
    roles: tuple[str, ...]
    policy: AccessPolicy

    @classmethod
    def system(cls) -> Actor:
        """Automation and migrations: full access, recorded as `system` in audit rows."""
        return cls(user_id=SYSTEM_USER, email=SYSTEM_USER, roles=("admin",), policy=FULL_ACCESS)

    @property
    def is_system(self) -> bool:
        return self.user_id == SYSTEM_USER
