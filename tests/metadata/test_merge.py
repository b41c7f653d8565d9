"""JSON merge patches and the three-way merge per JSON path (pure)."""

from __future__ import annotations

import pytest

from trellis.metadata.merge import (
    MISSING,
    OURS,
    THEIRS,
    PatchNotExpressible,
    apply_patch,
    changes,
    create_patch,
    merge3,
)


@pytest.mark.parametrize(("base", "target"), [
    ({"a": 1, "b": {"c": 2, "d": 3}}, {"a": 1, "b": {"c": 5}}),
    ({"a": [1, 2]}, {"a": [1, 2, 3], "n": {"x": "y"}}),
    ({}, {"k": {"deep": {"er": True}}}),
    ({"x": {"y": 1}}, {"x": 7}),
    ({"x": 7}, {"x": {"y": 1}}),
    ({"a": 1}, {"a": 1}),
])
def test_a_patch_turns_base_into_target(base, target):
    patch = create_patch(base, target)
    assert apply_patch(base, patch) == target
    assert base == base and patch is not base  # nothing is changed in place


def test_patch_is_minimal_and_removal_is_null():
    assert create_patch({"a": 1, "b": 2, "c": {"d": 1, "e": 2}}, {"a": 1, "c": {"d": 1, "e": 3}}) == \
        {"b": None, "c": {"e": 3}}
    assert create_patch({"a": 1}, {"a": 1}) == {}


def test_an_explicit_null_cannot_be_a_merge_patch():
    with pytest.raises(PatchNotExpressible) as caught:
        create_patch({"a": {"b": 1}}, {"a": {"b": None}})
    assert "$.a.b" in str(caught.value)


def test_apply_patch_follows_rfc_7386_examples():
    assert apply_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert apply_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert apply_patch({"a": "b"}, {"a": None}) == {}
    assert apply_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert apply_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert apply_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert apply_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


BASE = {"trigger": {"offset": [-90, -30], "at": "09:00"}, "label": "x", "active": True}


def test_changes_on_different_paths_merge():
    ours = {**BASE, "trigger": {"offset": [-120, -15], "at": "09:00"}}
    theirs = {**BASE, "trigger": {"offset": [-90, -30], "at": "10:00"}, "label": "y"}
    merged = merge3(BASE, ours, theirs)
    assert merged.conflicts == []
    assert merged.value == {"trigger": {"offset": [-120, -15], "at": "10:00"}, "label": "y", "active": True}


def test_the_same_change_on_both_sides_is_no_conflict():
    both = {**BASE, "active": False}
    assert merge3(BASE, both, both).value == both
    assert merge3(BASE, both, both).conflicts == []


def test_different_changes_to_one_path_conflict_with_three_values():
    merged = merge3(BASE, {**BASE, "label": "ours"}, {**BASE, "label": "theirs"})
    [conflict] = merged.conflicts
    assert (conflict.path, conflict.base, conflict.ours, conflict.theirs) == ("$.label", "x", "ours", "theirs")
    assert conflict.resolved is None and merged.unresolved == [conflict]
    assert merged.value["label"] == "x"  # an unresolved conflict keeps the base value


@pytest.mark.parametrize(("side", "expected"), [(OURS, "ours"), (THEIRS, "theirs")])
def test_a_preference_resolves_a_conflict(side, expected):
    merged = merge3(BASE, {**BASE, "label": "ours"}, {**BASE, "label": "theirs"}, lambda parts: side)
    assert merged.value["label"] == expected and merged.unresolved == []
    assert merged.conflicts[0].resolved == side


def test_arrays_are_atomic():
    """Both sides change the list: one conflict at the list, never an element-wise merge."""
    ours = {**BASE, "trigger": {"offset": [-120, -30], "at": "09:00"}}
    theirs = {**BASE, "trigger": {"offset": [-90, -30, 0], "at": "09:00"}}
    [conflict] = merge3(BASE, ours, theirs).conflicts
    assert conflict.parts == ("trigger", "offset")
    assert conflict.ours == [-120, -30] and conflict.theirs == [-90, -30, 0]


def test_removed_and_null_are_different():
    merged = merge3({"a": 1}, {"a": None}, {})
    [conflict] = merged.conflicts
    assert conflict.ours is None and conflict.theirs is MISSING


def test_removal_on_one_side_and_a_change_on_the_other_conflicts():
    merged = merge3(BASE, {k: v for k, v in BASE.items() if k != "label"}, {**BASE, "label": "y"})
    assert [(c.path, c.ours, c.theirs) for c in merged.conflicts] == [("$.label", MISSING, "y")]
    removed = merge3(BASE, {k: v for k, v in BASE.items() if k != "label"}, BASE)
    assert "label" not in removed.value and removed.conflicts == []


def test_keys_added_on_both_sides_merge_per_key():
    merged = merge3({}, {"p": {"a": 1, "b": 2}}, {"p": {"a": 1, "c": 3}})
    assert merged.value == {"p": {"a": 1, "b": 2, "c": 3}} and merged.conflicts == []


def test_changes_say_where_inside_a_conflicting_array_each_side_changed():
    base = {"actions": [{"subject": "a", "body": "b"}, {"subject": "c"}]}
    ours = {"actions": [{"subject": "a", "body": "B"}, {"subject": "c"}]}
    assert changes(base, ours) == [(("actions", 0, "body"), "B")]
    longer = {"actions": [*base["actions"], {"subject": "d"}]}
    assert changes(base, longer) == [(("actions",), longer["actions"])]  # another length: the whole array
    assert changes(base, {}) == [(("actions",), MISSING)]
