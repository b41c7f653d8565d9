"""Provenance of a published set against an app version, the per-item upgrade merge, and app
package folders (pure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import obj
from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.metadata.overlays import (
    ADDED,
    CONFLICT,
    CUSTOMISED,
    DROPPED,
    KEPT,
    MERGED,
    REMOVED,
    SHIPPED,
    TENANT,
    UPDATED,
    Prefer,
    merge_upgrade,
    parse_json_path,
    provenance,
)
from trellis.metadata.packages import normal_version, read_package

A = ("object", "a")
B = ("object", "b")
C = ("object", "c")
MINE = ("object", "mine")


def doc(**props: dict) -> dict:
    return obj({"name": {"type": "string"}, **props})


def test_provenance_names_each_item_state():
    app = MetadataSet({A: doc(), B: doc(), C: doc()})
    published = MetadataSet({A: doc(), B: doc(size={"type": "integer"}), MINE: doc()})
    origins = {o.key: o for o in provenance({"crm": app}, published)}
    assert {k: o.state for k, o in origins.items()} == {A: SHIPPED, B: CUSTOMISED, C: REMOVED, MINE: TENANT}
    assert origins[B].patch == {"properties": {"size": {"type": "integer"}}}
    assert origins[MINE].app is None and origins[B].app == "crm"


def test_a_customisation_that_sets_null_is_kept_whole():
    app = MetadataSet({A: doc()})
    published = MetadataSet({A: doc(extra={"type": "string", "default": None})})
    [origin] = provenance({"crm": app}, published)
    assert origin.whole and origin.patch == dict(published[A])


def test_upgrade_merges_items_three_ways():
    base = MetadataSet({A: doc(), B: doc(), C: doc()})
    theirs = MetadataSet({A: doc(x={"type": "string"}), B: doc(), ("object", "new"): doc()})  # C dropped
    ours = MetadataSet({A: doc(y={"type": "integer"}), B: doc(), C: doc(z={"type": "string"}), MINE: doc()})
    merge = merge_upgrade(base, theirs, ours)
    outcomes = {m.key: m.outcome for m in merge.report}
    assert outcomes == {A: MERGED, C: KEPT, ("object", "new"): ADDED}
    assert set(merge.items[A]["properties"]) == {"name", "x", "y"}
    assert merge.items[C] == dict(ours[C]) and merge.items[MINE] == dict(ours[MINE])
    assert merge.unresolved == []


def test_upgrade_drops_what_upstream_drops_unless_customised_and_follows_a_removal():
    base = MetadataSet({A: doc(), B: doc()})
    theirs = MetadataSet({B: doc(x={"type": "string"})})
    ours = MetadataSet({A: doc()})  # the tenant switched B off
    merge = merge_upgrade(base, theirs, ours)
    assert A not in merge.items and {m.key: m.outcome for m in merge.report}[A] == DROPPED
    [(key, conflict)] = merge.unresolved  # B: switched off here, changed upstream
    assert key == B and conflict.path == "$" and conflict.ours is not None
    resolved = merge_upgrade(base, theirs, ours, [Prefer("ours", B)])
    assert B not in resolved.items and resolved.unresolved == []


def test_preferences_pick_the_most_specific():
    base = MetadataSet({A: {"type": "object", "title": "t", "description": "d"}})
    theirs = MetadataSet({A: {"type": "object", "title": "T2", "description": "D2"}})
    ours = MetadataSet({A: {"type": "object", "title": "T1", "description": "D1"}})
    unresolved = merge_upgrade(base, theirs, ours)
    assert [c.path for _, c in unresolved.unresolved] == ["$.title", "$.description"]
    assert {m.key: m.outcome for m in unresolved.report}[A] == CONFLICT
    merge = merge_upgrade(base, theirs, ours, [Prefer("theirs"), Prefer("ours", A, ("title",))])
    assert merge.items[A] == {"type": "object", "title": "T1", "description": "D2"}
    assert {m.key: m.outcome for m in merge.report}[A] == MERGED


def test_an_unchanged_customised_item_upgrades_to_theirs():
    base = MetadataSet({A: doc()})
    merge = merge_upgrade(base, MetadataSet({A: doc(x={"type": "string"})}), base)
    assert [m.outcome for m in merge.report] == [UPDATED]


@pytest.mark.parametrize("path", ["$", "$.properties.amount.maximum", "$.actions[1].subject", "$['a b'].c"])
def test_json_paths_read_back(path):
    from trellis.metadata.errors import json_path

    parts = parse_json_path(path)
    assert parts is not None and json_path(parts) == path


def test_versions_given_short_are_completed():
    assert normal_version("1.1") == "1.1.0" and normal_version("2") == "2.0.0" and normal_version("1.x") is None


def test_renewals_ships_two_versions_that_validate():
    package = read_package(APP_FOLDER)
    assert package.versions[:2] == ["1.0.0", "1.1.0"]
    old, new = package.load("1.0.0"), package.load("1.1.0")
    assert "notice_period_days" in new.metadata[("object", "contract")]["properties"]
    assert set(old.metadata) <= set(new.metadata)


def _package(tmp_path: Path, manifest: dict, **patch_sets: dict) -> Path:
    (tmp_path / "objects").mkdir(exist_ok=True)
    (tmp_path / "objects" / "a.json").write_text(json.dumps(doc()), "utf-8")
    (tmp_path / "app.json").write_text(json.dumps(manifest), "utf-8")
    for version, content in patch_sets.items():
        (tmp_path / f"app-{version}.json").write_text(json.dumps(content), "utf-8")
    return tmp_path


def test_a_bad_manifest_names_file_and_path(tmp_path: Path):
    with pytest.raises(MetadataInvalid) as caught:
        read_package(_package(tmp_path, {"name": "Bad Name", "version": "1", "label": {}}))
    found = {(e.file, e.path) for e in caught.value.errors}
    assert found == {("app.json", "$.name"), ("app.json", "$.version"), ("app.json", "$.label")}


def test_a_bad_patch_set_names_file_and_path(tmp_path: Path):
    manifest = {"name": "x", "version": "1.0.0", "label": {"en": "X"}}
    with pytest.raises(MetadataInvalid) as caught:
        read_package(_package(tmp_path, manifest, **{
            "1.1.0": {"version": "1.1.0", "from": "0.9.0", "changes": {"nofolder/a": {}}}}))
    found = {(e.file, e.path) for e in caught.value.errors}
    assert found == {("app-1.1.0.json", "$.changes['nofolder/a']"), ("app-1.1.0.json", "$.from")}


def test_a_patch_set_that_breaks_an_item_is_refused_when_loaded(tmp_path: Path):
    manifest = {"name": "x", "version": "1.0.0", "label": {"en": "X"}}
    package = read_package(_package(tmp_path, manifest, **{
        "1.1.0": {"version": "1.1.0", "from": "1.0.0",
                  "changes": {"objects/a": {"properties": {"n": {"type": "nonsense"}}}}}}))
    with pytest.raises(MetadataInvalid) as caught:
        package.load("1.1.0")
    assert any("app-1.1.0.json" in e.file and "$.properties.n" in e.path for e in caught.value.errors)
