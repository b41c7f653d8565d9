"""Password hashing with Argon2id (argon2-cffi): slow and memory-hard on purpose.

People choose passwords, so a stolen `users` table must not be cheap to guess against; that is
what Argon2 is for (API tokens are random and need only SHA-256, see `tokens`). The parameters
are argon2-cffi's defaults (RFC 9106's low-memory profile). Every hash records its parameters,
so a hash made with older ones is upgraded at the next sign-in (`needs_rehash`).
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trellis.runtime.identity.errors import IdentityError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # hashing cost grows with length: a cap keeps one sign-in bounded

DEFAULT_HASHER = PasswordHasher()


def check_password(password: str) -> None:
    """Refuse a password that is too short (or absurdly long), saying so."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise IdentityError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise IdentityError(f"the password is too long: use at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> str:
    check_password(password)
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    """Whether `password` matches `password_hash`.

    Without a hash (no such user, or a token-only user) a dummy hash is verified instead, so
    that answer takes as long as a wrong password and timing does not tell which emails exist.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        hasher.verify(password_hash or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str, hasher: PasswordHasher = DEFAULT_HASHER) -> bool:
    return hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("no user has this password")
