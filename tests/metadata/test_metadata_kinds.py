"""The registry of kinds: each kind once, with its folder and meta-schema; validation knows no other."""

from __future__ import annotations

from importlib import resources

from trellis.metadata import MetadataSet, validate_set
from trellis.metadata.kinds import FOLDER_KINDS, KIND_FOLDERS, KINDS


def test_each_kind_has_its_own_folder_and_meta_schema() -> None:
    assert list(KINDS) == ["object", "role", "workflow_rule", "approval_process", "score_model", "metric"]
    assert all(name == kind.name for name, kind in KINDS.items())
    assert dict(KIND_FOLDERS) == {"object": "objects", "role": "roles", "workflow_rule": "workflow_rules",
                                  "approval_process": "approval_processes", "score_model": "score_models",
                                  "metric": "metrics"}
    assert {folder: kind for kind, folder in KIND_FOLDERS.items()} == dict(FOLDER_KINDS)
    shipped = {p.name for p in resources.files("trellis.metadata").joinpath("meta_schemas").iterdir()}
    assert {f"{name}.schema.json" for name in KINDS} <= shipped


def test_an_item_of_an_unregistered_kind_is_refused() -> None:
    errors = validate_set(MetadataSet({("report", "fit"): {}}))
    assert [(e.file, e.path, e.message) for e in errors] == [
        ("report/fit.json", "$",
         "unknown kind 'report'; known: approval_process, metric, object, role, score_model, workflow_rule")]
