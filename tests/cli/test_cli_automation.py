"""`trellis rules preview` (published and draft rules), `rules history` and `channels` through
the command line, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import Cli
from tests.runtime.automation.world import REMINDER, World
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation


@pytest.fixture
def world(installation: Installation) -> World:
    world = World.create(installation)
    world.clock.now = datetime.now(UTC)  # the command line reads the real clock
    return world


def test_preview_folds_firings_whose_condition_does_not_hold(world: World, settings: Settings, capsys):
    cli = Cli(settings, capsys)
    world.publish(ending=REMINDER)
    soon = (world.clock.now + timedelta(days=10)).astimezone(world.scheduler().timezone).date()
    world.contract("Auto plan", soon, auto_renew=True)
    quiet = cli.ok("rules", "preview", "--tenant", "acme", "--days", "30")
    assert "Auto plan" not in quiet and "(1 more whose rule's condition does not hold for them: --all lists them)" in quiet
    every = cli.ok("rules", "preview", "--tenant", "acme", "--days", "30", "--all")
    assert "contract Auto plan · -7d: not sent: the rule's condition does not hold for it" in every


def test_preview_shows_published_and_draft_rules_without_sending(world: World, settings: Settings, capsys):
    cli = Cli(settings, capsys)
    world.publish(ending=REMINDER)
    soon = (world.clock.now + timedelta(days=10)).astimezone(world.scheduler().timezone).date()
    world.contract("Cloud plan", soon)
    out = cli.ok("rules", "preview", "--tenant", "acme", "--days", "30")
    assert f"{soon.isoformat()}" in out and "Cloud plan ends" in out and "→ in_app" in out
    assert "2 messages and actions in the next 30 days" in out  # -7d and 0d
    assert out.startswith("Times in Asia/Shanghai; records by contract.name.")
    assert "ending · contract Cloud plan · -7d → in_app Alice" in out  # records and people by name
    draft = {**REMINDER, "trigger": {**REMINDER["trigger"], "offset": [-3]}}
    world.store.save_draft("workflow_rule", "ending", draft, "test")
    items = json.loads(cli.ok("rules", "preview", "--tenant", "acme", "--drafts", "--json"))
    assert [(i["step"], i["day"]) for i in items] == [("-3d", (soon - timedelta(days=3)).isoformat())]
    assert world.runs() == [] and world.deliveries() == []
    code, _, err = cli("rules", "preview", "--tenant", "acme", "--days", "0")
    assert code == 1 and "days must be between 1 and 366" in err


def test_channels_never_show_secrets_and_history_lists_runs(world: World, settings: Settings, capsys):
    cli = Cli(settings, capsys)
    world.publish(ending=REMINDER)
    secret = "s3cret-webhook-key-0123456789"
    out = cli.ok("channels", "set", "--tenant", "acme", "webhook", "--config", json.dumps({"secret": secret}))
    assert secret not in out and secret not in cli.ok("channels", "show", "--tenant", "acme")
    code, _, err = cli("channels", "set", "--tenant", "acme", "email", "--config", '{"host": "x", "port": 0}')
    assert code == 1 and "email.port" in err
    world.contract("Cloud plan", (world.clock.now + timedelta(days=7)).astimezone(world.scheduler().timezone).date())
    world.set_watermark("ending", world.clock.now - timedelta(days=1))
    world.clock.now += timedelta(days=1)
    world.scan()
    history = cli.ok("rules", "history", "--tenant", "acme", "--rule", "ending")
    assert "ending contract/" in history and ": fired" in history
