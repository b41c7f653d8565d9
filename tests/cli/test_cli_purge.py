"""`trellis metadata purge`: lists what destructive publishes kept aside, asks, drops, records."""

from __future__ import annotations

from tests.helpers import Cli, metadata_set, obj
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore

NOTE = obj({"title": {"type": "string"}, "body": {"type": "string"}})


def test_purge_lists_asks_and_records(cli: Cli, installation: Installation):
    cli.ok("tenant", "create", "acme")
    store = MetadataStore(installation.database("acme"))
    store.publish(metadata_set(note=NOTE), author="t")
    store.publish(metadata_set(note=obj({"title": {"type": "string"}})), author="t", allow_destructive=True)

    out = cli.ok("metadata", "purge", "--tenant", "acme", "--dry-run")
    assert "! drop column obj_note.body__retired_r2 (aside since release 2)" in out
    assert "dry run: nothing was dropped" in out
    code, out, err = cli("metadata", "purge", "--tenant", "acme")  # no terminal to ask, no --yes
    assert code == 1 and "not confirmed; nothing was dropped" in err
    out = cli.ok("metadata", "purge", "--tenant", "acme", "--yes", "--author", "ops")
    assert "acme: dropped 1 item(s); recorded as release 3" in out
    assert "purge: 1 item(s) kept aside dropped" in cli.ok("metadata", "history", "--tenant", "acme")
    assert "nothing kept aside; nothing to purge" in cli.ok("metadata", "purge", "--tenant", "acme", "--yes")
