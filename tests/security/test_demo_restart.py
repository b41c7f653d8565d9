"""Finding 9 of the security review: `trellis demo` prepares its tenant once. A restart keeps
what an admin changed (no publish over their release) and shows the same token."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import httpx
import pytest

from bench.graphql import Server
from tests.helpers import Cli
from trellis.cli.server import DEMO_TENANT, DEMO_TOKEN_FILE, prepare_demo
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(settings, capsys)


RULE = {
    "x-label": {"en": "Strategic alert", "zh-CN": "战略客户提醒"},
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-120], "unit": "days"},
    "actions": [{"type": "notify", "channel": "in_app", "to": [{"field": "owner_id"}],
                 "subject": "{{ record.name }}", "body": "ends soon"}],
}


def test_a_restart_publishes_nothing_keeps_an_added_rule_and_shows_the_same_token(
        installation: Installation, cli: Cli, tmp_path: Path):
    first = io.StringIO()
    token = prepare_demo(installation, first)
    assert "published the renewals app as release 1" in first.getvalue()
    token_file = installation.settings.data_dir / DEMO_TOKEN_FILE
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    exported = tmp_path / "demo"
    cli.ok("metadata", "export", "--tenant", DEMO_TENANT, str(exported))
    (exported / "workflow_rules" / "renewal_reminder_strategic.json").write_text(json.dumps(RULE), "utf-8")
    cli.ok("metadata", "apply", str(exported), "--tenant", DEMO_TENANT, "-m", "an admin's rule")

    again = io.StringIO()
    assert prepare_demo(installation, again) == token
    assert "left as it is" in again.getvalue() and "published" not in again.getvalue()
    assert "sample data" not in again.getvalue()  # the records are there already
    store = TenantServices(installation).store(DEMO_TENANT)
    assert store.current_number() == 2
    assert ("workflow_rule", "renewal_reminder_strategic") in store.current().metadata  # type: ignore[union-attr]


def test_a_revoked_demo_token_is_replaced(installation: Installation):
    token = prepare_demo(installation, io.StringIO())
    users = TenantServices(installation).users(DEMO_TENANT)
    [info] = users.list_tokens("admin@demo.trellis")
    users.revoke_token(info.id)
    fresh = prepare_demo(installation, io.StringIO())
    assert fresh != token
    users.actor_for_token(fresh)


def test_the_demo_command_serves_the_renewals_app_with_its_sample_data(installation: Installation):
    """`trellis demo` as a user runs it: a real server answering GraphQL with the printed token."""
    settings = installation.settings
    installation.dispose()
    with Server(settings, command="demo") as server:
        token = (settings.data_dir / DEMO_TOKEN_FILE).read_text("utf-8").strip()
        answer = httpx.post(f"{server.url}/t/{DEMO_TENANT}/graphql", headers={"Authorization": f"Bearer {token}"},
                            json={"query": "{ contracts(first: 5) { totalCount } }"}, timeout=30).json()
    assert answer["data"]["contracts"]["totalCount"] > 0, answer
