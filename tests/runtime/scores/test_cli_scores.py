"""`trellis scores run|explain|backtest` and `trellis metrics list|show` on the renewals demo,
in-process on both databases; a candidate whose weights do not sum to 100 is refused with its
file and path, and nothing is scored."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.helpers import Cli
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.builtin_apps.renewals.demo_data import generate
from trellis.builtin_apps.renewals.demo_health import generate_health
from trellis.metadata.loader import load_folder
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.services import TenantServices


def test_scores_and_metrics_from_the_command_line(installation: Installation, settings: Settings,
                                                  capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    installation.create_tenant("demo")
    services = TenantServices(installation)
    services.store("demo").publish(load_folder(APP_FOLDER), author="test")
    records = services.records("demo")
    generate(records)
    generate_health(records)
    account = records.list(Actor.system(), "account", PageRequest(first=1, where={"health_band": {"_eq": "风险"}}))
    cli = Cli(settings, capsys)
    out = cli.ok("scores", "run", "--tenant", "demo")
    assert out.startswith("customer_health: scored 24 records in 1 batches") and "0 factor failures" in out
    out = cli.ok("scores", "explain", "account", account.records[0]["id"], "--tenant", "demo")
    assert "(风险) by customer_health" in out and "产品使用率" in out and "trend (newest first)" in out
    out = cli.ok("scores", "backtest", "--tenant", "demo", "--model", "customer_health")
    assert out.startswith("customer_health: 72 snapshots; outcomes within 120 days of each")
    assert "from snapshots, 0 recomputed from dated data" in out
    past = (records.context().today - timedelta(days=200)).isoformat()
    out = cli.ok("scores", "backtest", "--tenant", "demo", "--model", "customer_health", "--as-of", past)
    recomputed = int(out.split(" recomputed from dated data")[0].rsplit(", ", 1)[1])
    assert recomputed > 0 and f"scored as of {past}, " in out  # the demo's snapshots are all of recent days
    with pytest.raises(SystemExit):  # argparse refuses it before anything runs
        cli("scores", "backtest", "--tenant", "demo", "--model", "customer_health", "--as-of", "2026-13-01")
    assert "argument --as-of: expected a date YYYY-MM-DD; got '2026-13-01'" in capsys.readouterr().err
    candidate = json.loads((APP_FOLDER / "score_models" / "customer_health.json").read_text("utf-8"))
    candidate["factors"][0]["weight"] = 40  # usage 40, payment 0: still 100
    candidate["factors"][5]["weight"] = 0
    (tmp_path / "score_models").mkdir()
    (tmp_path / "score_models" / "customer_health.json").write_text(json.dumps(candidate), "utf-8")
    out = cli.ok("scores", "backtest", "--tenant", "demo", "--model", "customer_health", "--candidate", str(tmp_path))
    assert "customer_health (candidate):" in out
    candidate["factors"][0]["weight"] = 30
    (tmp_path / "score_models" / "customer_health.json").write_text(json.dumps(candidate), "utf-8")
    code, out, err = cli("scores", "backtest", "--tenant", "demo", "--model", "customer_health", "--candidate",
                         str(tmp_path))
    assert code != 0 and "score_models/customer_health.json: $.factors: the weights must sum to 100; they sum to 90" \
        in err
    assert "grr" in cli.ok("metrics", "list", "--tenant", "demo")
    out = cli.ok("metrics", "show", "nrr", "renewal_rate_count", "--tenant", "demo", "--definitions",
                 "--group-by", "account.tier")
    assert "净收入留存率（NRR） [nrr] last_365_days" in out and "account.tier = 战略" in out and "% = " in out
