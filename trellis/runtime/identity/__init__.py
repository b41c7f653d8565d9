"""Who is calling: users, their roles (metadata kind `role` plus the built-in `admin`), API
tokens, and the `AccessPolicy` (trellis.runtime.access) their roles add up to."""

from trellis.runtime.identity.errors import IdentityError, Unauthenticated
from trellis.runtime.identity.passwords import MIN_PASSWORD_LENGTH, check_password, hash_password, verify_password
from trellis.runtime.identity.policy import policy_for
from trellis.runtime.identity.tokens import TokenInfo
from trellis.runtime.identity.users import User, UserService, normalise_email

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "IdentityError",
    "TokenInfo",
    "Unauthenticated",
    "User",
    "UserService",
    "check_password",
    "hash_password",
    "normalise_email",
    "policy_for",
    "verify_password",
]
