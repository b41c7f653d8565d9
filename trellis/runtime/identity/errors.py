"""What the identity services raise; each message says why, in words an admin can act on."""

from __future__ import annotations


class IdentityError(ValueError):
    """A request about users, roles or tokens that cannot be met (bad email, unknown role, ...)."""


class Unauthenticated(Exception):
    """The credentials do not identify an active user: unknown, expired or revoked token.

    `code` follows the GraphQL `extensions.code` convention the API layer passes through.
    """

    code = "UNAUTHENTICATED"
