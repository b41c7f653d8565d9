"""User administration in the admin API (`/t/<tenant>/metadata/graphql`): list users and their
tokens, set whom they report to (approvals ask managers), and offboard — deactivate a user (every
token revoked in the same transaction), reactivate, give or take a role, reset a password, revoke
one token. Admins only, like the rest of that API;
the same `UserService` the CLI uses does the work, so both say the same things.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import strawberry

from trellis.runtime.graphql.context import in_thread
from trellis.runtime.graphql.errors import ApiError, bad_input
from trellis.runtime.identity import IdentityError, TokenInfo, User, UserService

T = TypeVar("T")


def _users(info: strawberry.Info) -> UserService:
    if not info.context.actor.policy.is_admin:
        raise ApiError("FORBIDDEN", "only admins may manage users")
    users: UserService = info.context.users
    return users


async def _call(info: strawberry.Info, path: str, work: Callable[[UserService], T]) -> T:
    """Run `work` on the user service in the thread pool; an identity refusal is bad input at `path`."""
    users = _users(info)
    try:
        return await in_thread(work, users)
    except IdentityError as error:
        raise bad_input(path, str(error), str(error)) from None


@strawberry.type(name="ManagedUser", description="A user of the tenant, as admins see them (never a password).")
class ManagedUser:
    id: strawberry.ID
    email: str
    name: str
    active: bool
    has_password: bool
    roles: list[str]
    manager_id: strawberry.ID | None = strawberry.field(
        description="Whom the user reports to: approval steps ask a submitter's manager (and theirs).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> ManagedUser:
        return cls(id=strawberry.ID(user.id), email=user.email, name=user.name, active=user.active,
                   has_password=user.has_password, roles=list(user.roles),
                   manager_id=strawberry.ID(user.manager_id) if user.manager_id else None,
                   created_at=user.created_at, updated_at=user.updated_at)


@strawberry.type(description="An API token as listings show it: its prefix, never the secret.")
class ApiToken:
    id: strawberry.ID
    user_email: str
    name: str
    prefix: str
    state: str = strawberry.field(description="active, expired or revoked")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, token: TokenInfo, now: datetime) -> ApiToken:
        return cls(id=strawberry.ID(token.id), user_email=token.user_email, name=token.name, prefix=token.prefix,
                   state=token.state(now), created_at=token.created_at, expires_at=token.expires_at,
                   revoked_at=token.revoked_at, last_used_at=token.last_used_at)


def _tokens(users: UserService, email: str) -> list[ApiToken]:
    now = users.clock()
    return [ApiToken.of(t, now) for t in users.list_tokens(email)]


@strawberry.type
class UsersQuery:
    @strawberry.field(description="Every user of the tenant, by email.")
    async def users(self, info: strawberry.Info) -> list[ManagedUser]:
        return [ManagedUser.of(u) for u in await _call(info, "users", lambda s: s.list_users())]

    @strawberry.field(description="A user's API tokens, newest first, revoked and expired ones included.")
    async def user_tokens(self, info: strawberry.Info, email: str) -> list[ApiToken]:
        return await _call(info, "email", lambda s: _tokens(s, email))


@strawberry.type
class UsersMutation:
    @strawberry.mutation(description="Deactivate a user: their password stops working and every token they "
                                     "hold is revoked, in one transaction.")
    async def deactivate_user(self, info: strawberry.Info, email: str) -> ManagedUser:
        return ManagedUser.of(await _call(info, "email", lambda s: s.set_active(email, False)))

    @strawberry.mutation(description="Let a deactivated user sign in again; revoked tokens stay revoked.")
    async def reactivate_user(self, info: strawberry.Info, email: str) -> ManagedUser:
        return ManagedUser.of(await _call(info, "email", lambda s: s.set_active(email, True)))

    @strawberry.mutation(description="Give a user a role: admin or a role of the current release.")
    async def assign_role(self, info: strawberry.Info, email: str, role: str) -> ManagedUser:
        return ManagedUser.of(await _call(info, "role", lambda s: s.assign_role(email, role)))

    @strawberry.mutation(description="Take a role from a user.")
    async def remove_role(self, info: strawberry.Info, email: str, role: str) -> ManagedUser:
        return ManagedUser.of(await _call(info, "role", lambda s: s.revoke_role(email, role)))

    @strawberry.mutation(description="Set whom a user reports to (an email), or clear it with null; a chain "
                                     "that would come back to the user is refused.")
    async def set_manager(self, info: strawberry.Info, email: str, manager: str | None) -> ManagedUser:
        return ManagedUser.of(await _call(info, "manager", lambda s: s.set_manager(email, manager)))

    @strawberry.mutation(description="Set a new password; null leaves the user with API tokens only.")
    async def reset_password(self, info: strawberry.Info, email: str, password: str | None) -> ManagedUser:
        return ManagedUser.of(await _call(info, "password", lambda s: s.set_password(email, password)))

    @strawberry.mutation(description="Revoke one API token for good.")
    async def revoke_token(self, info: strawberry.Info, id: strawberry.ID) -> ApiToken:
        def revoke(users: UserService) -> ApiToken:
            return ApiToken.of(users.revoke_token(str(id)), users.clock())
        return await _call(info, "id", revoke)
