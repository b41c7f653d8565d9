"""The renewals app's health model, tiers, warnings and KPIs on its demo data: the app publishes,
the demo's two scoring runs put accounts in every band and tier, explanations have changes to
tell, the churn warnings made tasks, and every KPI has a non-trivial value."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.builtin_apps.renewals.demo_health import generate_health
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.metrics.compute import metric_names
from trellis.runtime.metrics.service import answer
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.scores.explain import explain
from trellis.runtime.services import TenantServices


def test_demo_health_shows_every_band_warning_and_kpi(installation: Installation) -> None:
    installation.create_tenant("demo")
    services = TenantServices(installation)
    assert services.store("demo").publish(load_folder(APP_FOLDER), author="test").release is not None
    records = services.records("demo")
    generate(records)
    counts = generate_health(records)
    assert min(counts.values()) > 0
    system = Actor.system()
    accounts = records.list(system, "account", PageRequest(first=100)).records
    assert set(Counter(a["health_band"] for a in accounts)) == {"健康", "关注", "风险"}
    assert set(Counter(a["tier"] for a in accounts)) == {"战略", "重要", "普通"}
    dropped = [a for a in accounts if (a["health_change"] or 0) <= -15]
    assert dropped
    why = explain(records, system, "account", dropped[0]["id"])
    assert why.previous is not None and why.changes and why.changes[0].startswith("得分从")
    with installation.database("demo").read() as conn:
        kinds = Counter(conn.execute(select(deliveries.c.rule).where(deliveries.c.kind == "create_task")).scalars())
    assert kinds["churn_warning_band"] > 0 and kinds["churn_warning_drop"] > 0
    values = {name: answer(records, system, name).total for name in metric_names(records.registry.metadata)}
    assert all(figure.value not in (None, 0) for figure in values.values()), values
    grr, nrr = values["grr"].value, values["nrr"].value
    assert grr is not None and nrr is not None and Decimal(0) < grr <= 1 and grr <= nrr
