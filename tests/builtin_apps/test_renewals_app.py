"""The built-in renewals app: its metadata publishes, and its demo data goes in through the
records service with every reminder window populated."""

from __future__ import annotations

from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.query.aggregates import Metric
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices

APP = APP_FOLDER


def test_renewals_app_publishes_and_demo_data_covers_every_window(installation: Installation):
    installation.create_tenant("demo")
    services = TenantServices(installation)
    result = services.store("demo").publish(load_folder(APP), author="test")
    assert result.release is not None
    records = services.records("demo")
    counts = generate(records)
    assert counts["account"] == 24 and counts["contract"] == 48
    system = Actor.system()
    for window in (7, 30, 60, 90):
        due = records.list(system, "contract", PageRequest(where={
            "status": {"_eq": "生效"}, "days_to_end": {"_gte": 0, "_lte": window}}, with_total=True))
        assert due.page.total and due.page.total > 0, window
    lines = records.aggregate(system, "contract_line", metrics=[Metric("sum", "line_total")])[0]
    contracts = records.aggregate(system, "contract", metrics=[Metric("sum", "amount")])[0]
    assert lines["sum"]["line_total"] == contracts["sum"]["amount"]  # amounts are the sums of their lines
    stages = {r["stage"] for r in records.list(system, "renewal_opportunity", PageRequest(first=100)).records}
    assert "已流失" in stages and len(stages) >= 3
