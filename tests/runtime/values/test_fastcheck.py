"""The compiled pre-check agrees with the jsonschema validator on every record it is shown."""

from __future__ import annotations

import random
from decimal import Decimal

from jsonschema import Draft202012Validator

from tests.helpers import metadata_set, obj
from trellis.runtime.values.fastcheck import compile_check

SCHEMA = obj({
    "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[A-Z]"},
    "code": {"type": ["string", "null"], "enum": ["甲", "乙", None]},
    "email": {"type": "string", "format": "email"},
    "site": {"type": "string", "format": "uri"},
    "count": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
    "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
    "amount": {"type": "number", "x-kind": "currency", "minimum": 0, "maximum": 1000},
    "flag": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "uniqueItems": True},
    "when": {"type": "string", "format": "date"},
}, required=["name", "count"])

CANDIDATES = {
    "name": ["Ab", "A", "Abcdef", "abc", "Abc", "", "A b", "Ä", 3],
    "code": ["甲", "乙", "丙", ""],
    "email": ["a@b.cn", "nope", "@", "x@y"],
    "site": ["https://example.com", "not a url", "http://例子.cn/路径", "mailto:a@b.c", ""],
    "count": [0, -1, 9, 10, 5, True, 2.5],
    "ratio": [0, 0.0001, 1.5, 1.5001, -1, 1],
    "amount": [Decimal("0"), Decimal("-0.01"), Decimal("1000.00"), Decimal("1000.01"), Decimal("12.34")],
    "flag": [True, False, 0, "true"],
    "tags": [[], ["a"], ["a", "a"], ["a", "d"], ["c", "b"], [1]],
    "when": ["2026-01-31", "2026-02-30", "tomorrow"],
}


def test_precheck_never_accepts_what_jsonschema_refuses_and_agrees_otherwise():
    compiled = metadata_set(thing=SCHEMA).objects["thing"]
    check = compile_check(compiled)
    assert check is not None
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    rng = random.Random(20261121)
    for _ in range(5000):
        instance = {name: rng.choice(values) for name, values in CANDIDATES.items() if rng.random() < 0.8}
        assert check(instance) == validator.is_valid(instance), instance


def test_objects_with_keywords_it_does_not_reimplement_use_the_full_validator():
    compiled = metadata_set(thing=obj({"n": {"type": "number", "multipleOf": 0.1}})).objects["thing"]
    assert compile_check(compiled) is None
