"""JSON Schema errors as sentences: what was expected and what was found.

Two kinds of readers meet jsonschema's errors: an admin whose metadata (a document against its
kind's meta-schema, a field's default against the field) is refused, and a person whose record
values (or a channel's settings) are refused. Both are worded here, once. Where they need other
words, a `Voice` says so: `AUTHOR` for people who write JSON, `USER` for people who fill in
forms. The runtime imports this module; it imports nothing from the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from jsonschema.exceptions import ValidationError

from trellis.metadata.errors import Parts, coded
from trellis.metadata.suggestions import closest


@dataclass(frozen=True)
class Voice:
    """Who reads a sentence, and so the few things worded differently for them.

    `show` renders a value that was found: an author reads JSON (`"yes"`, `a list`); a user reads
    what they typed (`'yes'`). `limits` words the keywords that bound a value, its size or its
    repeats, as `str.format` templates over `limit` (the keyword's value), `found` (shown),
    `count` (the size found), `noun` (`character`/`characters`, ...) and `repeat` (an item that
    appears twice). Its optional `"empty"` entry words an empty text where one character is
    needed. Every other sentence is the same for both.
    """

    show: Callable[[Any], str]
    limits: Mapping[str, str]


def _as_json(value: Any) -> str:
    """A found value as an author wrote it: text and scalars as JSON, containers by kind."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + '..."'


def _as_typed(value: Any) -> str:
    """A found value as a user typed it: text in quotes, numbers as they read (Decimal too)."""
    text = f"'{value}'" if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "…"


#: For admins writing metadata: "expected …; got …", limits as symbols, found values as JSON.
AUTHOR = Voice(show=_as_json, limits=MappingProxyType({
    "minimum": "expected a number >= {limit}; got {found}",
    "maximum": "expected a number <= {limit}; got {found}",
    "exclusiveMinimum": "expected a number > {limit}; got {found}",
    "exclusiveMaximum": "expected a number < {limit}; got {found}",
    "multipleOf": "expected a multiple of {limit}; got {found}",
    "minLength": "expected at least {limit} {noun}; got {count}",
    "maxLength": "expected at most {limit} {noun}; got {count}",
    "minItems": "expected at least {limit} {noun}; got {count}",
    "maxItems": "expected at most {limit} {noun}; got {count}",
    "minProperties": "expected at least {limit} {noun}; got {count}",
    "uniqueItems": "expected no repeated items; {repeat} appears more than once",
}))

#: For people entering record values: "must be at most 100", found values as typed.
USER = Voice(show=_as_typed, limits=MappingProxyType({
    "minimum": "must be at least {limit}; got {found}",
    "maximum": "must be at most {limit}; got {found}",
    "exclusiveMinimum": "must be more than {limit}; got {found}",
    "exclusiveMaximum": "must be less than {limit}; got {found}",
    "multipleOf": "must be a multiple of {limit}; got {found}",
    "minLength": "must be at least {limit} {noun}; this is {count}",
    "maxLength": "must be at most {limit} {noun}; this is {count}",
    "minItems": "must list at least {limit} {noun}; this lists {count}",
    "maxItems": "must list at most {limit} {noun}; this lists {count}",
    "minProperties": "must have at least {limit} {noun}; this has {count}",
    "uniqueItems": "must not list the same choice twice",
    "empty": "must not be empty",
}))

#: What a size limit counts.
_NOUNS = {"minLength": "character", "maxLength": "character", "minItems": "item", "maxItems": "item",
          "minProperties": "key"}

#: What a `format` asks for.
_FORMATS = {"email": "a valid email address", "uri": "a valid URL such as https://example.com",
            "date": "a valid date", "date-time": "a valid date-time"}


def sentence(error: ValidationError, voice: Voice = AUTHOR) -> str:
    """What was expected and what was found, for one jsonschema error (for an author, coded
    `schema.<keyword>` with the values it names: `trellis.metadata.errors.Coded`)."""
    text = _sentence(error, voice)
    if voice is not AUTHOR or text == error.message:
        return text
    expected, found = _values(error)
    params: dict[str, object] = {"found": AUTHOR.show(found)}
    if error.validator == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        params.update(types=" ".join(wanted), expected=" or ".join(article(t) for t in wanted))
    elif error.validator == "enum":
        params["choices"] = ", ".join(_plain(e) for e in expected if e is not None)
    elif error.validator in AUTHOR.limits:
        noun = _NOUNS.get(str(error.validator), "")
        params.update(limit=expected, noun=noun if expected == 1 else f"{noun}s",
                      count=len(found) if error.validator in _NOUNS else "",
                      repeat=AUTHOR.show(_first_repeat(found)) if error.validator == "uniqueItems" else "")
    else:
        params["expected"] = expected
    code = "format_regex" if error.validator == "format" and expected == "regex" else error.validator
    return coded(f"schema.{code}", text, **params)


def _sentence(error: ValidationError, voice: Voice) -> str:
    v = error.validator
    expected, found = _values(error)
    show = voice.show
    if v in voice.limits:
        return _limit(voice, str(v), expected, found)
    if v == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(article(t) for t in wanted)}; got {show(found)}"
    if v == "enum":
        choices = ", ".join(_plain(e) for e in expected if e is not None)
        return f"expected one of {choices}; got {show(found)}"
    if v == "const":
        return f"expected {show(expected)}; got {show(found)}"
    if v == "pattern":
        return f"expected text matching {expected}; got {show(found)}"
    if v == "format" and expected == "regex":
        return f"expected a valid regular expression; got {show(found)} ({error.cause})"
    if v == "format":
        return f"expected {_FORMATS.get(expected, f'a valid {expected}')}; got {show(found)}"
    return error.message


def _values(error: ValidationError) -> tuple[Any, Any]:
    """The keyword's value in the schema and the instance it refused, both JSON values.

    The stubs allow `Unset` for both, which only an error built by hand can have: a validator
    sets them on every error it yields (`None` and the instance for a `false` subschema).
    """
    expected: Any = error.validator_value
    found: Any = error.instance
    return expected, found


def _limit(voice: Voice, keyword: str, limit: Any, found: Any) -> str:
    if keyword == "minLength" and limit == 1 and "empty" in voice.limits:
        return voice.limits["empty"]
    noun = _NOUNS.get(keyword, "")
    return voice.limits[keyword].format(
        limit=limit,
        found=voice.show(found),
        count=len(found) if keyword in _NOUNS else "",
        noun=noun if limit == 1 else f"{noun}s",
        repeat=voice.show(_first_repeat(found)) if keyword == "uniqueItems" else "",
    )


def translate(error: ValidationError) -> Iterator[tuple[Parts, str]]:
    """One error of a document against its meta-schema, as (path parts, sentence) for an author.

    Unknown and missing keywords are reported one by one, each at its own path. A meta-schema's
    `description` says what a value must be ("an API name: …"), so it stands for `type`, `pattern`
    and `const`; an object's descriptions are for people reading a form, hence only here.
    """
    parts = list(error.absolute_path)
    expected, found = _values(error)
    # A `false` subschema refuses with a bool for its schema (and no keyword): it describes nothing.
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(found, dict):
        known = list(schema.get("properties", {}))
        for key in sorted(set(found) - set(known), key=str):
            yield [*parts, key], _unknown_keyword(str(key), known)
    elif error.validator == "required":
        for key in expected:
            if key not in found:
                yield parts, coded("meta.required", f'expected the keyword "{key}"; it is missing', keyword=key)
    elif error.validator == "dependentRequired":
        for key, needs in expected.items():
            for need in needs:
                if key in found and need not in found:
                    yield [*parts, key], f"{key} needs {need} as well; {need} is missing"
    elif "description" in schema and error.validator in ("type", "pattern", "const", "anyOf"):
        yield parts, coded("meta.described", f"expected {schema['description']}; got {AUTHOR.show(found)}",
                           description=schema["description"], found=AUTHOR.show(found))
    else:
        yield parts, sentence(error, AUTHOR)


def _unknown_keyword(key: str, known: Iterable[str]) -> str:
    same_family = sorted(k for k in known if k.startswith("x-") == key.startswith("x-"))
    close = closest(key, same_family)
    hint = f" (did you mean {close}?)" if close else ""
    known = ", ".join(same_family)
    return coded("meta.unknown_keyword_close" if close else "meta.unknown_keyword",
                 f"unknown keyword {key}{hint}; known: {known}", keyword=key, close=close or "", known=known)


def article(word: str) -> str:
    """'a string', 'an integer': the indefinite article a type's name takes."""
    return f"{'an' if word[:1] in 'aeio' else 'a'} {word}"


def _first_repeat(items: list[Any]) -> Any:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return None


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
