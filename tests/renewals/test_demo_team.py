"""The demo points email at a local catch-all once, stamped by the clock it is given."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from trellis.builtin_apps.renewals.demo_team import CATCH_ALL, point_email_at_the_catch_all
from trellis.platform.tenancy import Installation
from trellis.runtime.channels.tables import channel_settings
from trellis.runtime.services import TenantServices

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_the_catch_all_is_configured_once_at_the_clock_s_time(installation: Installation) -> None:
    installation.create_tenant("acme")
    services = TenantServices(installation)
    assert point_email_at_the_catch_all(services, "acme", "admin@acme.test", clock=lambda: WHEN)
    assert services.channels("acme").masked("email")["port"] == CATCH_ALL["port"]
    with installation.database("acme").read() as conn:
        stamped = conn.execute(select(channel_settings.c.updated_at)).scalar_one()
    assert stamped.replace(tzinfo=UTC) == WHEN
    later = datetime(2026, 3, 2, tzinfo=UTC)
    assert not point_email_at_the_catch_all(services, "acme", "admin@acme.test", clock=lambda: later)
    with installation.database("acme").read() as conn:  # an admin's settings (here: the first) are kept
        assert conn.execute(select(channel_settings.c.updated_at)).scalar_one().replace(tzinfo=UTC) == WHEN
