"""Signed-in sessions and the sign-in throttle, kept in the tenant's database.

The cookie carries a random session id signed with a key derived from the installation key
(`SecretBox.derive`); the database keeps only the id's hash, the user and the expiry, so a
stolen database hands over no session and signing out ends the session on every worker.
Each session's CSRF token is an HMAC of its id: nothing more to store, and a token from one
session is worthless in another.

Failed sign-ins are counted per (email, client address): after `MAX_FAILURES` within
`FAILURE_WINDOW` the pair is locked for `LOCKOUT`, whether or not the password is then right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from trellis.designer.tables import designer_login_failures, designer_sessions
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.runtime.identity.tables import user_roles, users
from trellis.runtime.release_tables import metadata_releases

SESSION_LIFETIME = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Signer:
    """Signs short values with one derived key; `unsign` gives None for anything not signed by it."""

    def __init__(self, key: bytes):
        self._key = key

    def _mac(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        value, _, mac = (signed or "").rpartition(".")
        return value if value and hmac.compare_digest(mac, self._mac(value)) else None

    def token(self, purpose: str, value: str) -> str:
        """A token bound to `value` for one purpose (the CSRF token of a session, say)."""
        return self._mac(f"{purpose}:{value}")

    def check_token(self, purpose: str, value: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.token(purpose, value), token or "")


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Visit:
    """A live session's user as one statement reads them: who, their roles and the current
    release (whose roles make their policy)."""

    session: Session
    email: str
    roles: tuple[str, ...]
    release: int | None


class Sessions:
    """The sessions of one tenant."""

    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    def start(self, user_id: str) -> Session:
        now = self.clock()
        session = Session(new_session_id(), user_id, now + SESSION_LIFETIME)
        with self.db.write() as conn:
            conn.execute(delete(designer_sessions).where(designer_sessions.c.expires_at <= now))
            conn.execute(insert(designer_sessions).values(id_hash=_hash(session.id), user_id=user_id,
                                                          created_at=now, expires_at=session.expires_at))
        return session

    def find(self, session_id: str) -> Session | None:
        """The live session with this id, or None (unknown, ended or expired)."""
        with self.db.read() as conn:
            row = conn.execute(select(designer_sessions).where(
                designer_sessions.c.id_hash == _hash(session_id))).first()
        if row is None or row.expires_at <= self.clock():
            return None
        return Session(session_id, row.user_id, row.expires_at)

    def visit(self, session_id: str) -> Visit | None:
        """The live session with this id and its active user, roles and the current release in
        one statement (like a bearer token's check); None when unknown, ended, expired or the
        user is deactivated. Nothing is cached: a role change counts from the next request."""
        s = designer_sessions.c
        with self.db.read() as conn:
            rows = conn.execute(
                select(s.user_id, s.expires_at, users.c.email, user_roles.c.role,
                       select(func.max(metadata_releases.c.number)).scalar_subquery().label("release"))
                .join(users, users.c.id == s.user_id).outerjoin(user_roles, user_roles.c.user_id == s.user_id)
                .where(s.id_hash == _hash(session_id), users.c.active.is_(True)).order_by(user_roles.c.role)).all()
        if not rows or rows[0].expires_at <= self.clock():
            return None
        first = rows[0]
        return Visit(Session(session_id, first.user_id, first.expires_at), first.email,
                     tuple(r.role for r in rows if r.role is not None), first.release)

    def end(self, session_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(designer_sessions).where(designer_sessions.c.id_hash == _hash(session_id)))


class Throttle:
    """Failed sign-ins per (email, client address), in the tenant's database."""

    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    @staticmethod
    def _key(email: str, address: str) -> str:
        return _hash(f"{email.strip().lower()}\n{address}")

    def locked_until(self, email: str, address: str) -> datetime | None:
        """When the pair may try again, if it is locked now."""
        with self.db.read() as conn:
            row = conn.execute(select(designer_login_failures.c.locked_until).where(
                designer_login_failures.c.key == self._key(email, address))).first()
        if row is None or row.locked_until is None or row.locked_until <= self.clock():
            return None
        return row.locked_until  # type: ignore[no-any-return]

    def failed(self, email: str, address: str) -> datetime | None:
        """Count a failure; when it locks the pair, until when."""
        key, now = self._key(email, address), self.clock()
        table = designer_login_failures
        with self.db.write() as conn:
            row = conn.execute(select(table).where(table.c.key == key)).first()
            if row is None or row.first_failed_at <= now - FAILURE_WINDOW:
                conn.execute(delete(table).where(table.c.key == key))
                conn.execute(insert(table).values(key=key, failures=1, first_failed_at=now, locked_until=None))
                return None
            failures = row.failures + 1
            locked = now + LOCKOUT if failures >= MAX_FAILURES else None
            conn.execute(update(table).where(table.c.key == key).values(failures=failures, locked_until=locked))
            return locked

    def succeeded(self, email: str, address: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(designer_login_failures).where(
                designer_login_failures.c.key == self._key(email, address)))
