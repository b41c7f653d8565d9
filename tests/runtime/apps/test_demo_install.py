"""`trellis demo` installs the renewals app as a package, and a restart changes nothing."""

from __future__ import annotations

import io

from tests.helpers import Cli
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.cli.server import DEMO_TENANT, prepare_demo
from trellis.metadata.loader import load_folder
from trellis.metadata.overlays import SHIPPED
from trellis.platform.tenancy import Installation
from trellis.runtime.apps.install import installed
from trellis.runtime.services import TenantServices


def test_the_demo_installs_renewals_1_0_and_can_upgrade(installation: Installation, cli: Cli):
    first = io.StringIO()
    prepare_demo(installation, first)
    assert "renewals 1.0.0 installed" in first.getvalue()
    store = TenantServices(installation).store(DEMO_TENANT)
    assert installed(store).versions == {"renewals": "1.0.0"}
    again = io.StringIO()
    prepare_demo(installation, again)
    assert "left as it is" in again.getvalue() and store.current_number() == 1
    assert "+ field notice_period_days" in cli.ok("app", "diff", "renewals", "--tenant", DEMO_TENANT)
    cli.ok("app", "upgrade", "renewals", "--tenant", DEMO_TENANT)
    assert installed(store).versions == {"renewals": "1.1.0"}


def test_a_demo_tenant_published_before_packages_is_adopted_unchanged(installation: Installation):
    """An older demo published the app's folder directly: the install records the version and
    keeps the metadata exactly as it is (a release with no item change)."""
    installation.create_tenant(DEMO_TENANT)
    store = TenantServices(installation).store(DEMO_TENANT)
    store.publish(load_folder(APP_FOLDER), author="older demo")
    prepare_demo(installation, io.StringIO())
    assert store.current_number() == 2
    assert store.release(2).metadata == store.release(1).metadata
    now = installed(store)
    assert now.versions == {"renewals": "1.0.0"} and {o.state for o in now.origins} == {SHIPPED}
