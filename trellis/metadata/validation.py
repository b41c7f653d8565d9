"""Validation of a whole metadata set, reporting every error with its file and JSON path.

Each item goes through the same passes, whatever its kind (`trellis.metadata.kinds`): plain JSON
within MAX_DEPTH, a valid name unique ignoring case, its kind's meta-schema (JSON Schema
2020-12), then its kind's check of the one document. Once every document has been seen, each
kind checks its items against the rest of the set (lookups, expressions, the objects and roles
a rule names, ...). A part that failed an earlier pass is skipped by the later ones, so one
mistake gives one error, not a cascade.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata.errors import MetadataError, Parts, coded
from trellis.metadata.kind import Report, SetView
from trellis.metadata.kinds import KIND_FOLDERS, KINDS
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.wording import translate

MAX_DEPTH = 64  # nesting levels of a document; real definitions need fewer than ten
TOO_DEEP = f"the document is nested more than {MAX_DEPTH} levels deep; the limit is {MAX_DEPTH}"

#: The meta-schema validator of each kind, built once.
META_VALIDATORS: Mapping[str, Draft202012Validator] = MappingProxyType(
    {name: kind.meta_validator for name, kind in KINDS.items()})


def source_file(key: ItemKey) -> str:
    """Where an item lives in a folder: `objects/contract.json`."""
    kind, name = key
    return f"{KIND_FOLDERS.get(kind, kind)}/{name}.json"


def validate_set(
    metadata: MetadataSet,
    sources: Mapping[ItemKey, str] | None = None,
    *,
    unreadable: Collection[ItemKey] = (),
) -> list[MetadataError]:
    """Every error in the set, sorted; an empty list means the set may be published.

    `sources` names the file of each item (default `objects/<name>.json`). `unreadable` are items
    that exist but could not be read (already reported): references to them are not errors.
    """
    errors: list[MetadataError] = []
    reports: dict[ItemKey, Report] = {}
    names = {kind: metadata.names(kind) + [n for k, n in unreadable if k == kind] for kind in KINDS}
    views: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    for key, document in metadata.items():
        kind_name, name = key
        report = reports[key] = Report((sources or {}).get(key, source_file(key)), errors)
        kind = KINDS.get(kind_name)
        if kind is None:
            report.add((), f"unknown kind '{kind_name}'; known: {', '.join(sorted(KINDS))}")
            continue
        _check_item_name(name, names[kind_name], kind.check_name, report)
        problems = json_problems(document)
        for parts, message in problems:
            report.add(parts, message)
        if problems:
            continue
        broken = _meta_check(kind.meta_validator, document, report)
        view = kind.check_document(name, document, broken, report)
        if view is not None:
            views[kind_name][name] = view
    whole = SetView(views, names)
    for kind in KINDS.values():
        for name, parts, message in kind.check_set(whole):
            reports[(kind.name, name)].add(parts, message)
    return sorted(set(errors))


def json_problems(document: Any) -> list[tuple[Parts, str]]:
    """Values that are not plain JSON, or nesting deeper than MAX_DEPTH, found without recursion."""
    problems: list[tuple[Parts, str]] = []
    stack: list[tuple[Any, list[str | int], int]] = [(document, [], 1)]
    while stack:
        value, parts, depth = stack.pop()
        if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
            return [((), TOO_DEEP)]
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append((parts, f"keys must be text; got {key!r}"))
                stack.append((item, parts + [str(key)], depth + 1))
        elif isinstance(value, list):
            stack.extend((item, parts + [index], depth + 1) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((parts, f"{value} is not a JSON number"))
        elif not isinstance(value, (str, int, float, bool, type(None))):
            problems.append((parts, f"a {type(value).__name__} is not a JSON value"))
    return problems


def _check_item_name(name: str, all_names: Sequence[str], check: Callable[[str], str | None],
                     report: Report) -> None:
    """A valid API name, unique ignoring case among its kind (files on macOS and Windows are)."""
    problem = check(name)
    if problem:
        report.add((), problem)
    twins = [other for other in all_names if other.lower() == name.lower() and other != name]
    if twins:
        report.add((), coded("name.case_twin", f"'{name}' and '{twins[0]}' differ only by case; names must be unique "
                             "ignoring case", name=name, other=twins[0]))


def _meta_check(validator: Draft202012Validator, document: Mapping[str, Any], report: Report) -> list[Parts]:
    """The document against its kind's meta-schema; reports each error and returns their paths,
    so later passes can skip the parts that are broken."""
    paths: list[Parts] = []
    for error in validator.iter_errors(document):
        paths.append(list(error.absolute_path))
        for where, message in translate(error):
            report.add(where, message)
    return paths
