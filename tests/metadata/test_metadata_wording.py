"""One wording of JSON Schema errors: the same sentence for authors and users but where their voices
differ (found values as JSON or as typed, limits as symbols or as words)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from trellis.metadata.wording import AUTHOR, USER, Voice, sentence


def worded(schema: dict[str, Any], value: Any, voice: Voice) -> list[str]:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [sentence(error, voice) for error in validator.iter_errors(value)]


@pytest.mark.parametrize(("schema", "value", "author", "user"), [
    ({"maximum": 3660}, 5000, "expected a number <= 3660; got 5000", "must be at most 3660; got 5000"),
    ({"exclusiveMinimum": 0}, 0, "expected a number > 0; got 0", "must be more than 0; got 0"),
    ({"multipleOf": 5}, 7, "expected a multiple of 5; got 7", "must be a multiple of 5; got 7"),
    ({"maxLength": 3}, "abcdef", "expected at most 3 characters; got 6", "must be at most 3 characters; this is 6"),
    ({"minLength": 1}, "", "expected at least 1 character; got 0", "must not be empty"),
    ({"uniqueItems": True}, ["a", "a"], 'expected no repeated items; "a" appears more than once',
     "must not list the same choice twice"),
    ({"enum": ["a", "b", None]}, "c", 'expected one of a, b; got "c"', "expected one of a, b; got 'c'"),
    ({"type": ["integer", "null"]}, "x", 'expected an integer or a null; got "x"', "expected an integer or a null; got 'x'"),
    ({"pattern": "^[A-Z]+$"}, "abc", 'expected text matching ^[A-Z]+$; got "abc"', "expected text matching ^[A-Z]+$; got 'abc'"),
    ({"format": "email"}, "nope", 'expected a valid email address; got "nope"', "expected a valid email address; got 'nope'"),
])
def test_each_voice_words_an_error(schema: dict[str, Any], value: Any, author: str, user: str) -> None:
    assert worded(schema, value, AUTHOR) == [author]
    assert worded(schema, value, USER) == [user]


def test_a_user_reads_a_decimal_as_typed() -> None:
    assert worded({"maximum": 100}, Decimal("120.50"), USER) == ["must be at most 100; got 120.50"]
