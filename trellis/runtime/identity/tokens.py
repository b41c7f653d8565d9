"""API tokens: random secrets, shown once, stored only as their SHA-256.

A secret is `trl_` followed by 40 URL-safe random characters (240 bits). With that much entropy
nothing can be guessed, so a fast hash is right: it lets every request find its token by an
indexed equality on `token_hash`, where a salted slow hash (Argon2, for passwords) would not.
The first characters of the secret (`prefix`) are kept in clear so listings can show which
token is which without being able to rebuild it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

TOKEN_MARK = "trl_"
SECRET_BYTES = 30  # 40 characters in URL-safe base64
PREFIX_CHARS = len(TOKEN_MARK) + 8

#: `last_used_at` is written at most this often per token, not on every request.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def new_secret() -> str:
    return TOKEN_MARK + secrets.token_urlsafe(SECRET_BYTES)


def token_hash(secret: str) -> str:
    """SHA-256 hex of the secret: what the database keeps instead of it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_prefix(secret: str) -> str:
    return secret[:PREFIX_CHARS]


def bearer_secret(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header; None for no header or another
    scheme. Every HTTP entry (GraphQL, the designer's pages) reads tokens with this."""
    scheme, _, secret = (authorization or "").partition(" ")
    return secret.strip() or None if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class TokenInfo:
    """A token as listings show it; the secret itself is never available again."""

    id: str
    user_email: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        """`revoked`, `expired` or `active` at `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
