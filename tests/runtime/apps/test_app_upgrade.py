"""The renewals app as a package: install, customise (CLI and metadata API), upgrade to 1.1.0 with
every customisation kept, conflicts reported and resolved each way, rollback, downgrade refused,
an interrupted upgrade leaving everything as it was. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli
from tests.runtime.apps.conftest import TENANT, edit_with_cli, metadata_api, publish_with_api
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.export import write_folder
from trellis.metadata.overlays import CUSTOMISED, SHIPPED
from trellis.metadata.overlays import TENANT as TENANT_OWNED
from trellis.metadata.packages import AppPackage, read_package
from trellis.platform.tenancy import Installation
from trellis.runtime.apps.install import apply_upgrade, install, installed, plan_upgrade
from trellis.runtime.releases import BaseMoved, DestructiveChangeRefused, MetadataStore

RENEWALS = read_package(APP_FOLDER)
V1, V11 = RENEWALS.load("1.0.0"), RENEWALS.load("1.1.0")
REMINDER = ("workflow_rule", "renewal_reminder")
ALERT = ("workflow_rule", "strategic_account_alert")
CONTRACT = ("object", "contract")
OPPORTUNITY_RULE = ("workflow_rule", "open_renewal_opportunity")

#: Every customised value, by item and path: what the upgrade must keep.
CUSTOMISED_VALUES: dict[tuple[tuple[str, str], tuple[str, ...]], Any] = {
    (REMINDER, ("trigger", "offset")): [-120, -60, -15],
    (CONTRACT, ("properties", "region")): {"type": "string", "maxLength": 40, "x-label": {"en": "Region"}},
    (ALERT, ("active",)): False,
    (CONTRACT, ("x-label", "en")): "Agreement",
}


def at(document: Any, parts: tuple[str, ...]) -> Any:
    for part in parts:
        document = document[part]
    return document


def customise(cli: Cli, installation: Installation, tmp_path: Path) -> None:
    """Reminder offsets and a new field with the CLI; a rule off and a label through the API."""
    edit_with_cli(cli, tmp_path / "export", {
        "workflow_rules/renewal_reminder": lambda d: d["trigger"].update(offset=[-120, -60, -15]),
        "objects/contract": lambda d: d["properties"].update(
            region={"type": "string", "maxLength": 40, "x-label": {"en": "Region"}}),
    })
    current = MetadataStore(installation.database(TENANT)).current()
    assert current is not None
    alert = {**current.metadata[ALERT], "active": False}
    contract = json.loads(json.dumps(current.metadata[CONTRACT]))
    contract["x-label"]["en"] = "Agreement"
    publish_with_api(installation, [("workflow_rule", "strategic_account_alert", alert),
                                    ("object", "contract", contract)])


def test_install_records_the_version_and_every_item_as_shipped(cli: Cli, store: MetadataStore):
    out = cli.ok("app", "install", "renewals", "--version", "1.0", "--tenant", TENANT)
    assert "published release 1" in out
    now = installed(store)
    assert now.versions == {"renewals": "1.0.0"} and now.release == 1
    assert {o.key: o.state for o in now.origins} == {key: SHIPPED for key in V1.metadata}
    assert "installed: 1.0.0" in cli.ok("app", "list", "--tenant", TENANT)
    code, _, err = cli("app", "install", "renewals", "--tenant", TENANT)
    assert code == 1 and "already installed" in err and "trellis app upgrade renewals" in err
    code, _, err = cli("app", "status", "quotes", "--tenant", TENANT)
    assert code == 1 and "quotes is not installed in acme (installed: renewals)" in err
    code, _, err = cli("app", "install", "quote", "--tenant", TENANT)
    assert code == 1 and "no app named 'quote'; the apps are: renewals" in err
    assert store.current_number() == 1


def test_customisations_from_cli_and_api_survive_the_upgrade_and_a_rollback(
        cli: Cli, store: MetadataStore, installation: Installation, tmp_path: Path):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    customise(cli, installation, tmp_path)
    before = installed(store)
    assert before.release == 3  # install, CLI apply, API publish
    states = {o.key: o.state for o in before.origins}
    assert states[REMINDER] == states[CONTRACT] == states[ALERT] == CUSTOMISED and states[OPPORTUNITY_RULE] == SHIPPED
    patches = {o.key: o.patch for o in before.origins if o.state == CUSTOMISED}
    assert patches[REMINDER] == {"trigger": {"offset": [-120, -60, -15]}}
    assert patches[ALERT] == {"active": False}
    status = cli.ok("app", "status", "--tenant", TENANT)
    assert "workflow_rules/strategic_account_alert" in status and 'patch: {"active": false}' in status
    [api] = metadata_api(installation, [("{ appStatus { release apps { name version } "
                                         "items { kind name state app patch } } }", None)])
    assert api["appStatus"]["apps"] == [{"name": "renewals", "version": "1.0.0"}]
    assert {"kind": "workflow_rule", "name": "strategic_account_alert", "state": "customised", "app": "renewals",
            "patch": {"active": False}} in api["appStatus"]["items"]

    dry = cli.ok("app", "upgrade", "renewals", "--tenant", TENANT, "--dry-run")
    assert "objects/contract" in dry and "merged" in dry and "add column obj_contract.notice_period_days" in dry
    assert "dry run: nothing was published" in dry and store.current_number() == 3

    out = cli.ok("app", "upgrade", "renewals", "--tenant", TENANT)
    assert "published release 4" in out
    after = installed(store)
    assert after.versions == {"renewals": "1.1.0"}
    release = store.current()
    assert release is not None
    for (key, parts), value in CUSTOMISED_VALUES.items():
        assert at(release.metadata[key], parts) == value, (key, parts)
    # what 1.1.0 brings is there too
    assert "notice_period_days" in release.metadata[CONTRACT]["properties"]
    assert release.metadata[REMINDER]["actions"] == V11.metadata[REMINDER]["actions"]
    assert release.metadata[OPPORTUNITY_RULE] == V11.metadata[OPPORTUNITY_RULE]
    # the overlay is the same: 1.1.0 changed none of the customised paths
    assert {o.key: o.patch for o in after.origins if o.state == CUSTOMISED} == patches

    cli.ok("metadata", "rollback", "3", "--tenant", TENANT, "--allow-destructive")
    back = installed(store)
    assert back.versions == {"renewals": "1.0.0"}
    assert store.current().metadata == store.release(3).metadata  # type: ignore[union-attr]
    assert {o.key: o.patch for o in back.origins if o.state == CUSTOMISED} == patches


@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_a_conflict_is_reported_with_three_values_and_resolved_either_way(
        cli: Cli, store: MetadataStore, tmp_path: Path, side: str):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    subject = "续约提醒：{{ record.name }}"
    edit_with_cli(cli, tmp_path / "export", {
        "workflow_rules/renewal_reminder": lambda d: d["actions"][1].update(subject=subject)})
    ours = store.current().metadata[REMINDER]["actions"]  # type: ignore[union-attr]

    code, out, _ = cli("app", "upgrade", "renewals", "--tenant", TENANT)
    assert code == 1
    assert "workflow_rules/renewal_reminder" in out and "conflict at $.actions (UNRESOLVED)" in out
    assert "installed" in out and "yours" in out and "new" in out
    assert f'yours changed $.actions[1].subject to "{subject}"' in out and "new changed $.actions[1].subject" in out
    assert "--prefer ours|theirs 'workflow_rules/renewal_reminder:$.actions'" in out
    assert "nothing was changed" in out
    assert store.current_number() == 2 and installed(store).versions == {"renewals": "1.0.0"}

    cli.ok("app", "upgrade", "renewals", "--tenant", TENANT, "--prefer", side, "workflow_rules/renewal_reminder:$.actions")
    actions = store.current().metadata[REMINDER]["actions"]  # type: ignore[union-attr]
    assert actions == (ours if side == "ours" else V11.metadata[REMINDER]["actions"])
    assert installed(store).versions == {"renewals": "1.1.0"}
    state = {o.key: o.state for o in installed(store).origins}[REMINDER]
    assert state == (CUSTOMISED if side == "ours" else SHIPPED)


def test_a_preference_that_matches_nothing_is_refused(cli: Cli, store: MetadataStore):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    code, _, err = cli("app", "upgrade", "renewals", "--tenant", TENANT, "--prefer", "ours", "objects/contract:$.title")
    assert code == 1 and "objects/contract:$.title" in err and "no conflict there" in err
    code, _, err = cli("app", "upgrade", "renewals", "--tenant", TENANT, "--prefer", "mine", "objects/contract")
    assert code == 1 and "ours or theirs" in err
    assert store.current_number() == 1


def test_a_downgrade_is_refused(cli: Cli, store: MetadataStore):
    cli.ok("app", "install", "renewals", "--tenant", TENANT)  # the latest: 1.1.0
    code, _, err = cli("app", "upgrade", "renewals", "--to", "1.0", "--tenant", TENANT)
    assert code == 1 and "renewals 1.1.0 is installed; a downgrade to 1.0.0 is refused" in err
    code, _, err = cli("app", "upgrade", "renewals", "--to", "9.9", "--tenant", TENANT)
    assert code == 1 and "no version '9.9'" in err and "1.0.0, 1.1.0" in err
    assert store.current_number() == 1 and installed(store).versions == {"renewals": "1.1.0"}


class Interrupted(Exception):
    pass


def test_an_upgrade_interrupted_mid_publish_leaves_the_release_and_the_overlay(
        cli: Cli, store: MetadataStore, installation: Installation, tmp_path: Path):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    customise(cli, installation, tmp_path)
    before = installed(store)
    plan = plan_upgrade(store, V11)

    def fail(index: int, step: Any) -> None:  # after the column is added, inside the transaction
        raise Interrupted(f"stopped after step {index}: {step}")

    with pytest.raises(Interrupted):
        apply_upgrade(store, plan, author="test", on_step=fail)
    after = installed(store)
    assert after == before  # release, versions and every item's provenance
    columns = [c for c in _columns(installation, "obj_contract") if c == "notice_period_days"]
    assert columns == []


def _columns(installation: Installation, table: str) -> list[str]:
    from sqlalchemy import inspect

    db = installation.database(TENANT)
    with db.read() as conn:
        return [c["name"] for c in inspect(conn).get_columns(table, schema=db.schema)]


def renewals_with(tmp_path: Path, changes: dict[str, Any]) -> AppPackage:
    """A copy of renewals 1.0.0 with a 1.1.0 that makes `changes` (a patch set)."""
    folder = tmp_path / "renewals"
    write_folder(V1.metadata, folder)
    (folder / "app.json").write_text((APP_FOLDER / "app.json").read_text("utf-8"), "utf-8")
    (folder / "app-1.1.0.json").write_text(json.dumps({"version": "1.1.0", "from": "1.0.0", "changes": changes}),
                                           "utf-8")
    return read_package(folder)


def test_a_customised_item_removed_upstream_is_kept_and_flagged(
        store: MetadataStore, tmp_path: Path, cli: Cli):
    """A 1.1.0 that drops two rules: the customised one stays, the other goes."""
    package = renewals_with(tmp_path, {"workflow_rules/strategic_account_alert": None,
                                       "workflow_rules/open_renewal_opportunity": None})
    install(store, package.load("1.0.0"), author="test")
    edit_with_cli(cli, tmp_path / "export", {"workflow_rules/strategic_account_alert": lambda d: d.update(active=False)})
    plan = plan_upgrade(store, package.load("1.1.0"))
    outcomes = {m.key: m.outcome for m in plan.merge.report}
    assert outcomes == {ALERT: "kept", OPPORTUNITY_RULE: "removed upstream"}
    apply_upgrade(store, plan, author="test")
    metadata = store.current().metadata  # type: ignore[union-attr]
    assert metadata[ALERT]["active"] is False and OPPORTUNITY_RULE not in metadata
    origins = {o.key: o for o in installed(store).origins}
    assert origins[ALERT].state == TENANT_OWNED  # no longer the app's: the tenant's own now


def test_overlay_export_writes_only_the_changes(cli: Cli, store: MetadataStore, installation: Installation,
                                                tmp_path: Path):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    customise(cli, installation, tmp_path)
    cli.ok("metadata", "export", "--overlay", "--tenant", TENANT, str(tmp_path / "overlay"))
    overlay = json.loads((tmp_path / "overlay" / "renewals.overlay.json").read_text("utf-8"))
    assert overlay["version"] == "1.0.0" and overlay["removed"] == []
    assert set(overlay["customised"]) == {"objects/contract", "workflow_rules/renewal_reminder",
                                          "workflow_rules/strategic_account_alert"}
    assert overlay["customised"]["workflow_rules/strategic_account_alert"] == {"active": False}


def test_an_upgrade_that_breaks_a_reference_or_drops_data_is_refused_with_the_plan(
        store: MetadataStore, tmp_path: Path, cli: Cli):
    """1.1.0 drops renewal opportunities: a rule of the tenant's own names them (refused, naming
    the item and path); without that rule the dropped table is a destructive step (refused unless
    allowed). Nothing changes either time."""
    package = renewals_with(tmp_path, {"objects/renewal_opportunity": None,
                                       "workflow_rules/open_renewal_opportunity": None})
    install(store, package.load("1.0.0"), author="test")
    rule = {"object": "renewal_opportunity", "trigger": {"type": "record", "events": ["created"]},
            "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                         "subject": "new", "body": "{{ record.name }}"}]}
    current = store.current()
    assert current is not None
    store.publish(type(current.metadata)({**dict(current.metadata.items()), ("workflow_rule", "mine"): rule}),
                  author="test")
    with pytest.raises(MetadataInvalid) as caught:
        apply_upgrade(store, plan_upgrade(store, package.load("1.1.0")), author="test")
    assert any(e.file == "workflow_rules/mine.json" and e.path == "$.object" for e in caught.value.errors)
    assert store.current_number() == 2 and installed(store).versions == {"renewals": "1.0.0"}

    store.rollback(1, author="test")
    plan = plan_upgrade(store, package.load("1.1.0"))
    with pytest.raises(DestructiveChangeRefused) as refused:
        apply_upgrade(store, plan, author="test")
    assert [s.object for s in refused.value.plan.destructive_steps] == ["renewal_opportunity"]
    assert store.current_number() == 3 and installed(store).versions == {"renewals": "1.0.0"}
    assert apply_upgrade(store, plan, author="test", allow_destructive=True).release is not None
    assert installed(store).versions == {"renewals": "1.1.0"}


def test_a_merge_computed_before_another_publish_is_refused(store: MetadataStore, cli: Cli, tmp_path: Path):
    install(store, V1, author="test")
    plan = plan_upgrade(store, V11)
    edit_with_cli(cli, tmp_path / "export", {"workflow_rules/renewal_reminder": lambda d: d.update(active=False)})
    with pytest.raises(BaseMoved):
        apply_upgrade(store, plan, author="test")
    assert store.current_number() == 2 and installed(store).versions == {"renewals": "1.0.0"}


def test_the_cli_shows_the_plan_before_publishing(cli: Cli, store: MetadataStore):
    cli.ok("app", "install", "renewals", "--version", "1.0.0", "--tenant", TENANT)
    out = cli.ok("app", "upgrade", "renewals", "--tenant", TENANT)
    assert out.index("merge renewals 1.0.0 -> 1.1.0") < out.index("storage plan") < out.index("published release 2")
    assert "add column obj_contract.notice_period_days" in out
