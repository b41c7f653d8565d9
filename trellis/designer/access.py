"""Who may see the designer's pages: a tenant's admins, and nobody else learns anything.

Until the designer has sign-in (a session cookie), an admin proves it with an API token,
`Authorization: Bearer <token>`, resolved exactly as the GraphQL API resolves it. Everyone else
gets the same refusal whether or not the tenant exists, so the pages reveal neither tenants nor
what they hold.
"""

from __future__ import annotations

from starlette.requests import Request

from trellis.platform.tenancy import TenantError
from trellis.runtime.access import Actor
from trellis.runtime.identity import Unauthenticated
from trellis.runtime.identity.tokens import bearer_secret
from trellis.runtime.services import TenantServices

SIGN_IN = ("Sign in to see this page: send a tenant admin's API token in the header "
           "Authorization: Bearer <token> (an admin creates one with `trellis token create`).")
ADMINS_ONLY = "Only the tenant's admins may see its designer pages; ask one for the admin role."


class Refused(Exception):
    """The page is not shown: 401 (who are you?) or 403 (not an admin), with a neutral message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def tenant_admin(request: Request, services: TenantServices, tenant: str) -> Actor:
    """The admin of `tenant` whose token the request carries, or Refused."""
    token = bearer_secret(request.headers.get("authorization"))
    if token is None:
        raise Refused(401, SIGN_IN)
    try:
        services.tenant(tenant)
        actor = services.users(tenant).actor_for_token(token)
    except (TenantError, Unauthenticated):
        raise Refused(401, SIGN_IN) from None  # the same for a tenant that does not exist
    if not actor.policy.is_admin:
        raise Refused(403, ADMINS_ONLY)
    return actor
