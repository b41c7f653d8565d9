"""The demo's sales team at work: every live record owned by a rep (not by `system`), the reps'
manager reporting to the sales director, and an email channel pointed at a local catch-all, so
that reminders have someone to go to and visibly land.

Run once, after `demo_quotes.generate_quotes` made the team. The catch-all is any SMTP server on
127.0.0.1:1025 (`python -m aiosmtpd -n -l 127.0.0.1:1025` prints every message it receives).
"""

from __future__ import annotations

from itertools import cycle

from trellis.builtin_apps.renewals.demo_quotes import REP, TEAM, own
from trellis.platform.clock import Clock, utc_now
from trellis.runtime.access import SYSTEM_USER, Actor
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices

#: A second rep, so the book is shared (the first is demo_quotes.REP; the other one is leaving).
SECOND_REP = ("wang.fang@demo.trellis", "王芳", ["sales_rep"])
DIRECTOR = next(email for email, _, roles, _ in TEAM if "sales_director" in roles)
CATCH_ALL = {"host": "127.0.0.1", "port": 1025, "security": "none", "from_address": "renewals@demo.trellis",
             "from_name": "Trellis 续约管理"}


def staff_the_book(services: TenantServices, tenant: str, admin_email: str) -> dict[str, int]:
    """Hand the contracts `system` still owns (with their accounts and opportunities) to the
    reps in turn; the reps report to the admin, who reports to the director. Returns counts."""
    users = services.users(tenant)
    email, name, roles = SECOND_REP
    users.create_user(email, name=name, roles=roles)
    users.set_manager(email, admin_email)
    users.set_manager(admin_email, DIRECTOR)
    reps = cycle([users.actor_for(REP).user_id, users.actor_for(email).user_id])
    records = services.records(tenant)
    unowned = records.list(Actor.system(), "contract", PageRequest(
        where={"owner_id": {"_eq": SYSTEM_USER}}, first=500)).records
    for contract in unowned:
        own(records, contract, next(reps))
    return {"contracts handed to reps": len(unowned)}


def point_email_at_the_catch_all(services: TenantServices, tenant: str, admin_email: str,
                                 clock: Clock = utc_now) -> bool:
    """Configure the email channel for 127.0.0.1:1025 unless an admin configured it already."""
    channels = services.channels(tenant)
    if channels.masked("email"):
        return False
    channels.configure("email", CATCH_ALL, admin_email, clock())
    return True
