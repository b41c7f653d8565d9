"""`trellis handover` in-process: a dry run prints what would move, then the move, then a refusal."""

from __future__ import annotations

from tests.helpers import Cli, metadata_set
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.identity import UserService
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import TenantServices

NOTE = {"type": "object", "properties": {"title": {"type": "string"}}}


def test_dry_run_then_handover_then_refusal(cli: Cli, installation: Installation) -> None:
    cli.ok("tenant", "create", "acme")
    db = installation.database("acme")
    MetadataStore(db).publish(metadata_set(note=NOTE), author="test")
    users = UserService(db, MetadataStore(db))
    ann = users.create_user("ann@acme.test", name="Ann").id
    bob = users.create_user("bob@acme.test", name="Bob").id
    records = TenantServices(installation).records("acme")
    records.create_many(Actor.system(), "note", [{"title": f"n{i}", "owner_id": ann} for i in range(3)])

    preview = cli.ok("handover", "--tenant", "acme", "--from", "ann@acme.test", "--to", "bob@acme.test", "--dry-run")
    assert "would move 3 record(s) (dry run: nothing changed)" in preview
    assert "note" in preview and "still active" in preview
    assert {r["owner_id"] for r in records.list(Actor.system(), "note").records} == {ann}

    done = cli.ok("handover", "--tenant", "acme", "--from", "ann@acme.test", "--to", "bob@acme.test",
                  "--objects", "note", "--where", '{"title": {"_in": ["n0", "n1"]}}')
    assert "moved 2 record(s)" in done
    assert sorted(r["owner_id"] for r in records.list(Actor.system(), "note").records) == sorted([ann, bob, bob])

    code, _, err = cli("handover", "--tenant", "acme", "--from", "ann@acme.test", "--to", "ann@acme.test")
    assert code != 0 and "is the user handing over" in err
    code, _, err = cli("handover", "--tenant", "acme", "--from", "ann@acme.test", "--to", "bob@acme.test",
                       "--where", "{nope")
    assert code != 0 and "--where is not JSON" in err
