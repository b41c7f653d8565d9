"""Users, the roles they hold and their API tokens, in one tenant's database.

`UserService` is what the CLI, the designer and the API call: it creates users, assigns roles,
signs users in by password or token and answers with an `Actor` whose `AccessPolicy` is built
from the `role` documents of the current release (plus the built-in `admin`). Policies are
cached per (release, roles held), so a request that authenticates does not re-read metadata.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from trellis.metadata.roles import ADMIN_ROLE
from trellis.metadata.suggestions import suggest
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import AccessPolicy, Actor
from trellis.runtime.identity.errors import IdentityError, Unauthenticated
from trellis.runtime.identity.passwords import DEFAULT_HASHER, hash_password, needs_rehash, verify_password
from trellis.runtime.identity.policy import policy_for
from trellis.runtime.identity.tables import api_tokens, user_roles, users
from trellis.runtime.identity.tokens import (
    LAST_USED_GRANULARITY,
    TokenInfo,
    new_secret,
    token_hash,
    token_prefix,
)
from trellis.runtime.release_tables import metadata_releases
from trellis.runtime.releases import MetadataStore

EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL = 320
DEFAULT_TOKEN_NAME = "api"


@dataclass(frozen=True)
class User:
    """A user as callers see it: never with the password hash."""

    id: str
    email: str
    name: str
    active: bool
    has_password: bool
    roles: tuple[str, ...]
    manager_id: str | None
    created_at: datetime
    updated_at: datetime


def normalise_email(email: str) -> str:
    """The stored spelling of an email (trimmed, lower-cased), or IdentityError saying why not."""
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL or not EMAIL.fullmatch(cleaned):
        raise IdentityError(f"{email!r} is not an email address (expected name@example.com)")
    return cleaned


class UserService:
    """Users, roles and tokens of one tenant. `clock` and `hasher` are replaceable for tests."""

    def __init__(self, db: Database, store: MetadataStore, *, hasher: PasswordHasher = DEFAULT_HASHER,
                 clock: Clock = utc_now):
        self.db = db
        self.store = store
        self.hasher = hasher
        self.clock = clock
        self._lock = threading.Lock()
        self._policies: dict[tuple[int | None, tuple[str, ...]], AccessPolicy] = {}

    # -- users -----------------------------------------------------------------------------

    def create_user(self, email: str, *, name: str | None = None, password: str | None = None,
                    roles: Iterable[str] = ()) -> User:
        """A new active user. Without a password the user can only use API tokens."""
        email = normalise_email(email)
        roles = sorted(set(roles))
        self._check_roles(roles)
        password_hash = None if password is None else hash_password(password, self.hasher)
        now = self.clock()
        user_id = new_id()
        try:
            with self.db.write() as conn:
                if self._find(conn, email) is not None:
                    raise _duplicate(email)
                conn.execute(insert(users).values(
                    id=user_id, email=email, name=(name or "").strip() or email.split("@")[0],
                    password_hash=password_hash, active=True, manager_id=None, created_at=now, updated_at=now))
                if roles:
                    conn.execute(insert(user_roles), [{"user_id": user_id, "role": role} for role in roles])
        except IntegrityError as error:  # another writer took the email between check and insert
            raise _duplicate(email) from error
        return self.get_user(email)

    def get_user(self, email: str) -> User:
        with self.db.read() as conn:
            return self._user(conn, self._require(conn, email))

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            rows = conn.execute(select(users).order_by(users.c.email)).all()
            held: dict[str, list[str]] = {}
            for user_id, role in conn.execute(select(user_roles.c.user_id, user_roles.c.role).order_by(
                    user_roles.c.role)):
                held.setdefault(user_id, []).append(role)
        return [_as_user(row, held.get(row.id, ())) for row in rows]

    def set_active(self, email: str, active: bool) -> User:
        """Deactivate (or reactivate) a user. Deactivating revokes every token the user holds, in
        the same transaction, so reactivating later brings none of them back: the user signs in
        with their password again and gets new tokens."""
        now = self.clock()
        with self.db.write() as conn:
            row = self._require(conn, email)
            conn.execute(update(users).where(users.c.id == row.id).values(active=active, updated_at=now))
            if not active:
                conn.execute(update(api_tokens).where(
                    (api_tokens.c.user_id == row.id) & api_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
        return self.get_user(email)

    def set_manager(self, email: str, manager_email: str | None) -> User:
        """Set (or, with None, clear) whom a user reports to: approval steps ask a submitter's
        manager and manager's manager. A chain that would come back to the user is refused."""
        with self.db.write() as conn:
            row = self._require(conn, email)
            manager_id = None
            if manager_email is not None:
                manager_id = self._require(conn, manager_email).id
                seen, current = {row.id}, manager_id
                while current is not None:
                    if current in seen:
                        raise IdentityError(f"{manager_email.strip()} cannot manage {row.email}: "
                                            f"{row.email} is already in {manager_email.strip()}'s chain of managers")
                    seen.add(current)
                    current = conn.execute(select(users.c.manager_id).where(users.c.id == current)).scalar()
            conn.execute(update(users).where(users.c.id == row.id).values(manager_id=manager_id, updated_at=self.clock()))
        return self.get_user(email)

    def set_password(self, email: str, password: str | None) -> User:
        """Set a new password, or None to leave the user with API tokens only."""
        return self._update_user(email, password_hash=None if password is None else hash_password(password, self.hasher))

    def _update_user(self, email: str, **values: Any) -> User:
        with self.db.write() as conn:
            row = self._require(conn, email)
            conn.execute(update(users).where(users.c.id == row.id).values(updated_at=self.clock(), **values))
        return self.get_user(email)

    # -- roles -----------------------------------------------------------------------------

    def assign_role(self, email: str, role: str) -> User:
        """Give a user a role: `admin` or a role of the current release. Assigning twice is harmless."""
        self._check_roles([role])
        with self.db.write() as conn:
            row = self._require(conn, email)
            if role not in self._roles(conn, row.id):
                conn.execute(insert(user_roles).values(user_id=row.id, role=role))
        return self.get_user(email)

    def revoke_role(self, email: str, role: str) -> User:
        with self.db.write() as conn:
            row = self._require(conn, email)
            held = self._roles(conn, row.id)
            if role not in held:
                raise IdentityError(f"{row.email} does not hold the role {role!r} (roles: {', '.join(held) or 'none'})")
            conn.execute(delete(user_roles).where((user_roles.c.user_id == row.id) & (user_roles.c.role == role)))
        return self.get_user(email)

    def _check_roles(self, roles: Sequence[str]) -> None:
        """Only `admin` and the roles of the current release can be held."""
        if all(role == ADMIN_ROLE for role in roles):
            return
        release = self.store.current()
        known = [ADMIN_ROLE] + ([] if release is None else release.metadata.names("role"))
        where = "no release is published yet" if release is None else f"release {release.number}"
        for role in roles:
            if role not in known:
                raise IdentityError(f"no role {role!r} ({where}; roles: {', '.join(known)}){suggest(role, known)}")

    # -- signing in ------------------------------------------------------------------------

    def authenticate(self, email: str, password: str) -> Actor | None:
        """The actor for a correct email and password of an active user, else None.

        Unknown emails, token-only users and inactive users cost one password verification
        like everyone else, so the time taken does not tell them apart.
        """
        try:
            email = normalise_email(email)
        except IdentityError:
            verify_password(None, password, self.hasher)
            return None
        with self.db.read() as conn:
            row = self._find(conn, email)
        stored = None if row is None else row.password_hash
        if not verify_password(stored, password, self.hasher) or row is None or not row.active:
            return None
        if stored is not None and needs_rehash(stored, self.hasher):  # parameters got stronger since
            self._update_user(email, password_hash=hash_password(password, self.hasher))
        with self.db.read() as conn:
            return self._actor(conn, row)

    def actor_for(self, email: str) -> Actor:
        """The actor of an active user, for admin tools that act with that user's permissions
        (`trellis data import --as-user`); no password is asked, so never expose this to a request."""
        with self.db.read() as conn:
            row = self._require(conn, email)
            if not row.active:
                raise IdentityError(f"{row.email} is deactivated; reactivate the user to act as them")
            return self._actor(conn, row)

    # -- API tokens ------------------------------------------------------------------------

    def create_token(self, email: str, name: str | None = None, expires_days: int | None = None) -> tuple[str, str]:
        """A new token for an active user: (token id, secret). The secret is returned this once
        and stored only as its hash; nobody can show it again."""
        if expires_days is not None and expires_days < 1:
            raise IdentityError(f"a token must be valid for at least 1 day; got {expires_days}")
        secret, token_id, now = new_secret(), new_id(), self.clock()
        with self.db.write() as conn:
            row = self._require(conn, email)
            if not row.active:
                raise IdentityError(f"{row.email} is deactivated; reactivate the user before creating tokens")
            conn.execute(insert(api_tokens).values(
                id=token_id, user_id=row.id, name=(name or "").strip() or DEFAULT_TOKEN_NAME,
                prefix=token_prefix(secret), token_hash=token_hash(secret), created_at=now,
                expires_at=None if expires_days is None else now + timedelta(days=expires_days),
                revoked_at=None, last_used_at=None))
        return token_id, secret

    def actor_for_token(self, secret: str) -> Actor:
        """The actor a bearer token stands for, or Unauthenticated saying why not."""
        return self.authenticate_token(secret)[0]

    def authenticate_token(self, secret: str) -> tuple[Actor, int | None]:
        """The actor a bearer token stands for and the release number its policy was read
        under (the tenant's current one), or Unauthenticated saying why not. A request serves
        that release, so it needs no second look at the release table."""
        now = self.clock()
        with self.db.read() as conn:
            # one statement: the token, its user, each of their roles (a row per role) and the
            # current release, whose roles make the policy; nothing is cached, so a revocation,
            # deactivation or role change counts from the next request
            found = conn.execute(
                select(api_tokens.c.id.label("token_id"), api_tokens.c.expires_at, api_tokens.c.revoked_at,
                       api_tokens.c.last_used_at, users.c.id, users.c.email, users.c.active,
                       user_roles.c.role, select(func.max(metadata_releases.c.number)).scalar_subquery().label("release"))
                .join(users, users.c.id == api_tokens.c.user_id)
                .outerjoin(user_roles, user_roles.c.user_id == users.c.id)
                .where(api_tokens.c.token_hash == token_hash(secret)).order_by(user_roles.c.role)).all()
            if not found:
                raise Unauthenticated("unknown API token")
            first = found[0]
            if not first.active:  # its tokens were revoked with it; this says why
                raise Unauthenticated(f"the API token's user {first.email} is deactivated")
            if first.revoked_at is not None:
                raise Unauthenticated(f"the API token was revoked on {first.revoked_at:%Y-%m-%d %H:%M} UTC")
            if first.expires_at is not None and first.expires_at <= now:
                raise Unauthenticated(f"the API token expired on {first.expires_at:%Y-%m-%d %H:%M} UTC")
            roles = tuple(row.role for row in found if row.role is not None)
            actor = Actor(user_id=first.id, email=first.email, roles=roles, policy=self.policy_at(first.release, roles))
        if first.last_used_at is None or now - first.last_used_at >= LAST_USED_GRANULARITY:
            self._mark_used(first.token_id, now)
        return actor, first.release

    def _mark_used(self, token_id: str, now: datetime) -> None:
        """Record use at most once per LAST_USED_GRANULARITY (the WHERE keeps racing requests
        from writing twice), so authenticating is not a write per request."""
        stale = or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at <= now - LAST_USED_GRANULARITY)
        with self.db.write() as conn:
            conn.execute(update(api_tokens).where(and_(api_tokens.c.id == token_id, stale)).values(last_used_at=now))

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke a token for good; revoking it again keeps the first revocation time."""
        with self.db.write() as conn:
            conn.execute(update(api_tokens).where(
                (api_tokens.c.id == token_id) & api_tokens.c.revoked_at.is_(None)).values(revoked_at=self.clock()))
            tokens = self._tokens(conn, api_tokens.c.id == token_id)
        if not tokens:
            raise IdentityError(f"no API token with id {token_id!r}")
        return tokens[0]

    def list_tokens(self, email: str) -> list[TokenInfo]:
        """The user's tokens, newest first, revoked and expired ones included."""
        with self.db.read() as conn:
            return self._tokens(conn, api_tokens.c.user_id == self._require(conn, email).id)

    def _tokens(self, conn: Connection, where: ColumnElement[bool]) -> list[TokenInfo]:
        rows = conn.execute(
            select(api_tokens, users.c.email).join(users, users.c.id == api_tokens.c.user_id)
            .where(where).order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())).all()
        return [TokenInfo(r.id, r.email, r.name, r.prefix, r.created_at, r.expires_at, r.revoked_at, r.last_used_at)
                for r in rows]

    # -- shared ----------------------------------------------------------------------------

    def _find(self, conn: Connection, email: str) -> Row[Any] | None:
        return conn.execute(select(users).where(users.c.email == email)).first()

    def _require(self, conn: Connection, email: str) -> Row[Any]:
        row = self._find(conn, normalise_email(email))
        if row is None:
            raise IdentityError(f"no user with email {email.strip()!r}; create one with `trellis user create`")
        return row

    def _roles(self, conn: Connection, user_id: str) -> tuple[str, ...]:
        return tuple(conn.execute(
            select(user_roles.c.role).where(user_roles.c.user_id == user_id).order_by(user_roles.c.role)).scalars())

    def _user(self, conn: Connection, row: Row[Any]) -> User:
        return _as_user(row, self._roles(conn, row.id))

    def _actor(self, conn: Connection, row: Row[Any]) -> Actor:
        roles = self._roles(conn, row.id)
        return Actor(user_id=row.id, email=row.email, roles=roles, policy=self._policy(conn, roles))

    def _policy(self, conn: Connection, roles: tuple[str, ...]) -> AccessPolicy:
        """The policy of a set of roles under the current release."""
        return self.policy_at(self.store.current_number(conn), roles)

    def policy_at(self, number: int | None, roles: tuple[str, ...]) -> AccessPolicy:
        """The policy of a set of roles under release `number`, built once per release."""
        key = (number, roles)
        with self._lock:
            cached = self._policies.get(key)
        if cached is not None:
            return cached
        documents = {} if number is None else self.store.release(number).metadata.documents("role")
        policy = policy_for(roles, documents)
        with self._lock:
            if any(known != number for known, _ in self._policies):
                self._policies.clear()  # a new release: policies of the old one are never asked again
            self._policies[key] = policy
        return policy


def _as_user(row: Row[Any], roles: Sequence[str]) -> User:
    return User(id=row.id, email=row.email, name=row.name, active=row.active,
                has_password=row.password_hash is not None, roles=tuple(roles), manager_id=row.manager_id,
                created_at=row.created_at, updated_at=row.updated_at)


def _duplicate(email: str) -> IdentityError:
    return IdentityError(f"a user with email {email} already exists")
