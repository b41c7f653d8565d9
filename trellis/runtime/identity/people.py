"""Who a rule, a task or an approval step means: active users by id, by email or by role.

Firing a rule (and, soon, starting an approval) names people in several ways — a user field of
the record, an email written in the rule, everyone holding a role — often the same people many
times over in one batch. `People` answers on the caller's connection and remembers each answer
for as long as it lives (one planning call, one transaction), so a role named by a rule that
fires for five hundred records is read once. Inactive users never resolve: nothing is sent to,
or assigned to, someone who can no longer sign in. The roles a person holds (what a message to
them may show) are read once per person too, and a role's members with their roles in one query.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from trellis.runtime.identity.tables import user_roles, users


@dataclass(frozen=True)
class Person:
    """An active user as a recipient or assignee: what messages and tasks need, nothing more."""

    id: str
    email: str
    name: str


_COLUMNS = (users.c.id, users.c.email, users.c.name)


class People:
    """Active users read through one connection, each lookup cached for this object's life."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._by_id: dict[str, Person | None] = {}
        self._by_email: dict[str, Person | None] = {}
        self._in_role: dict[str, list[Person]] = {}
        self._managers: dict[str, str | None] = {}
        self._roles: dict[str, tuple[str, ...]] = {}

    def by_id(self, user_id: str) -> Person | None:
        if user_id not in self._by_id:
            row = self.conn.execute(select(*_COLUMNS).where(users.c.id == user_id, users.c.active.is_(True))).first()
            self._by_id[user_id] = Person(row.id, row.email, row.name) if row else None
        return self._by_id[user_id]

    def deactivated(self, user_id: str) -> Person | None:
        """The user when they exist but are deactivated (None for an active or unknown id): whom
        a rule naming them falls back from, to their manager."""
        if self.by_id(user_id) is not None:
            return None
        row = self.conn.execute(select(*_COLUMNS).where(users.c.id == user_id, users.c.active.is_(False))).first()
        return Person(row.id, row.email, row.name) if row else None

    def by_email(self, email: str) -> Person | None:
        """Emails are stored trimmed and lower-cased; `email` is matched the same way."""
        key = email.strip().lower()
        if key not in self._by_email:
            row = self.conn.execute(select(*_COLUMNS).where(users.c.email == key, users.c.active.is_(True))).first()
            person = Person(row.id, row.email, row.name) if row else None
            self._by_email[key] = person
            if person is not None:
                self._by_id[person.id] = person
        return self._by_email[key]

    def in_role(self, role: str) -> list[Person]:
        """The role's active members, by email (a stable order for messages and tasks)."""
        if role not in self._in_role:
            rows = self.conn.execute(select(*_COLUMNS).join(user_roles, user_roles.c.user_id == users.c.id)
                                     .where(user_roles.c.role == role, users.c.active.is_(True))
                                     .order_by(users.c.email))
            self._in_role[role] = [Person(r.id, r.email, r.name) for r in rows]
            self._read_roles([p.id for p in self._in_role[role] if p.id not in self._roles])
        return list(self._in_role[role])

    def roles(self, user_id: str) -> tuple[str, ...]:
        """The roles a user holds, sorted by name."""
        if user_id not in self._roles:
            self._read_roles([user_id])
        return self._roles[user_id]

    def _read_roles(self, user_ids: list[str]) -> None:
        held: dict[str, list[str]] = {user_id: [] for user_id in user_ids}
        if user_ids:
            rows = self.conn.execute(select(user_roles.c.user_id, user_roles.c.role)
                                     .where(user_roles.c.user_id.in_(user_ids)).order_by(user_roles.c.role))
            for user_id, role in rows:
                held[user_id].append(role)
        self._roles.update({user_id: tuple(roles) for user_id, roles in held.items()})

    def manager_of(self, user_id: str, levels: int = 1) -> Person | None:
        """The user's manager (levels=1), the manager's manager (2), …: None when the chain ends
        first. An inactive manager is skipped for the next one up (who stands in for them)."""
        current: str | None = user_id
        found: Person | None = None
        for _ in range(levels):
            found = None
            while found is None:
                current = self._manager_id(current) if current is not None else None
                if current is None:
                    return None
                found = self.by_id(current)
        return found

    def _manager_id(self, user_id: str) -> str | None:
        if user_id not in self._managers:
            self._managers[user_id] = self.conn.execute(
                select(users.c.manager_id).where(users.c.id == user_id)).scalar()
        return self._managers[user_id]
