"""API-name rules for objects and fields."""

from __future__ import annotations

import pytest

from trellis.metadata.names import (
    api_name,
    check_field_name,
    check_object_name,
    field_clashes,
)


@pytest.mark.parametrize("name", ["account", "contract_line", "a1", "x" * 40])
def test_good_object_names(name: str) -> None:
    assert check_object_name(name) is None


@pytest.mark.parametrize("name", ["amount", "end_date", "year_2", "x" * 50, "id_card", "version_note"])
def test_good_field_names(name: str) -> None:
    assert check_field_name(name) is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Contract", "snake_case"),
        ("contractLine", "snake_case"),
        ("1st", "snake_case"),
        ("_hidden", "snake_case"),
        ("a-b", "snake_case"),
        ("", "snake_case"),
        ("a__b", "__"),
        ("amount_", "end with _"),
        ("x" * 51, "at most 50"),
        ("id", "standard column"),
        ("owner_id", "standard column"),
        ("deleted_at", "standard column"),
        ("select", "SQL"),
        ("order", "SQL"),
        ("user", "SQL"),
        ("index", "SQL"),
        ("class", "Python keyword"),
        ("none", "Python keyword"),
        ("true", "reserved"),
        ("today", "function"),
        ("days_between", "function"),
        ("if_", "end with _"),
        ("items", "evaluator"),
        ("keys", "evaluator"),
        ("func_code", "evaluator"),
        ("format", "evaluator"),
    ],
)
def test_bad_field_names(name: str, words: str) -> None:
    problem = check_field_name(name)
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    ("name", "words"),
    [("Contract", "snake_case"), ("x" * 41, "at most 40"), ("select", "SQL"), ("lambda", "Python keyword")],
)
def test_bad_object_names(name: str, words: str) -> None:
    problem = check_object_name(name)
    assert problem is not None and words in problem


def test_api_name_is_camel_case() -> None:
    assert api_name("start_date") == "startDate"
    assert api_name("a_1") == "a1"


def test_lookup_id_clash() -> None:
    clashes = field_clashes(["account", "account_id", "name"], lookups=["account"])
    assert set(clashes) == {"account_id"}
    assert "accountId" in clashes["account_id"]


def test_camel_case_clash() -> None:
    assert set(field_clashes(["a1", "a_1"], lookups=[])) == {"a_1"}
    assert field_clashes(["account", "name"], lookups=["account"]) == {}
