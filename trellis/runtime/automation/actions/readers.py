"""What the reader of a message may see of the records a rule fired for.

A message template can name any field, and a webhook used to carry every field, so without a
check a rule would hand a user (or the outside world) fields their roles hide: the contract
amount a sales rep may not read, in that rep's inbox. So templates render for their reader:

* a user (a `user_field`, a `role`'s members, an in-app or email address that is an active
  user's): the union of their roles, as every other data path reads it
  (trellis.runtime.identity.policy_for). A field they cannot read is None, which renders blank;
  of a record they cannot read at all (read scope none, or own and not theirs) every field is
  None; a related record through a lookup is judged the same way on its own object, and is
  blank too when the lookup field itself is hidden;
* no user (a phone number, a WeCom group, an outside email address, an unassigned task): anyone
  may read such a message, so it shows the fields no role is denied — a field is hidden when a
  role that may read its object has it at `none`. Roles that cannot read an object say nothing
  about its fields.

Policies are built once per role set for one planning call, and a person's roles read once
(`People.roles`): no query per recipient per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from trellis.metadata.roles import ADMIN_ROLE
from trellis.runtime.access import AccessPolicy, FieldAccess, ObjectGrant, Scope
from trellis.runtime.identity.people import People, Person
from trellis.runtime.identity.policy import policy_for
from trellis.runtime.registry import Registry

Record = Mapping[str, Any]


class Readers:
    """Access policies of message readers, for one planning call of one release."""

    def __init__(self, registry: Registry, people: People):
        self.registry = registry
        self.people = people
        self._roles = registry.metadata.documents("role")
        self._policies: dict[tuple[str, ...], AccessPolicy] = {}
        self._anyone: AccessPolicy | None = None

    def policy(self, person: Person | None) -> AccessPolicy:
        """A user's policy, or (None) the policy of anyone: the fields no role is denied."""
        if person is None:
            return self.anyone()
        roles = self.people.roles(person.id)
        if roles not in self._policies:
            self._policies[roles] = policy_for(roles, self._roles)
        return self._policies[roles]

    def anyone(self) -> AccessPolicy:
        if self._anyone is None:
            each = [policy_for([name], self._roles) for name in sorted(self._roles) if name != ADMIN_ROLE]
            grants = {}
            for name, definition in self.registry.objects.items():
                readers = [p for p in each if p.scope(name, "read") is not Scope.NONE]
                hidden = {f: FieldAccess.NONE for f in definition.fields
                          if any(not p.can_read_field(name, f) for p in readers)}
                grants[name] = ObjectGrant(read=Scope.ALL, fields=MappingProxyType(hidden),
                                           default_field=FieldAccess.READ)
            self._anyone = AccessPolicy(grants=MappingProxyType(grants))
        return self._anyone

    def record(self, policy: AccessPolicy, reader: str | None, obj: str, record: Record) -> dict[str, Any]:
        """`record` as `reader` (a user id, or None for anyone) sees it: what they may not read is None."""
        if not can_read(policy, reader, obj, record):
            return dict.fromkeys(record)
        return {k: v if policy.can_read_field(obj, k) else None for k, v in record.items()}

    def related(self, policy: AccessPolicy, reader: str | None, obj: str, record: Record,
                related: Mapping[str, Record | None]) -> dict[str, dict[str, Any]]:
        """The related records by lookup field as `reader` sees them ({} for a blank lookup)."""
        fields = self.registry.objects[obj].fields
        shown = can_read(policy, reader, obj, record)
        out: dict[str, dict[str, Any]] = {}
        for lookup, target in related.items():
            ref = fields[lookup].ref if lookup in fields else None
            if not target:
                out[lookup] = {}
            elif ref is None or not shown or not policy.can_read_field(obj, lookup):
                out[lookup] = dict.fromkeys(target)
            else:
                out[lookup] = self.record(policy, reader, ref, target)
        return out


def can_read(policy: AccessPolicy, reader: str | None, obj: str, record: Record) -> bool:
    """Whether the policy reads this record at all: scope all, or own and the reader owns it."""
    scope = policy.scope(obj, "read")
    return scope is Scope.ALL or (scope is Scope.OWN and reader is not None and record.get("owner_id") == reader)
