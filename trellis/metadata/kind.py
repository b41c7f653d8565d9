"""What one kind of metadata item gives validation: the contract each kind module fulfils.

`validate_set` knows no kind by name: for every item it runs the JSON checks, the kind's
meta-schema, the kind's name rule and its document check; then, once every document has been
seen, each kind's check against the whole set. The registry of kinds and how to add one:
`trellis.metadata.kinds`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata.errors import MetadataError, Parts, json_path

Problem = tuple[Parts, str]  # a path in one document and a sentence
ItemProblem = tuple[str, Parts, str]  # the name of an item of the checked kind, a path in it, a sentence


@dataclass
class Report:
    """Collects the errors of one file."""

    file: str
    errors: list[MetadataError]

    def add(self, parts: Parts, message: str) -> None:
        self.errors.append(MetadataError(self.file, json_path(parts), message))


@dataclass(frozen=True)
class SetView:
    """What a check against the whole set may read: each kind's sound views and every name.

    `sound(kind)` maps each item of `kind` whose document check returned a view to that view;
    items that failed earlier checks are missing. `all_names(kind)` is every item of `kind` in
    the set, also those too broken to check and those that could not be read at all: naming
    one of them is no error (its own file reports what is wrong with it).
    """

    views: Mapping[str, Mapping[str, Any]]
    names: Mapping[str, Sequence[str]]

    def sound(self, kind: str) -> Mapping[str, Any]:
        return self.views.get(kind, {})

    def all_names(self, kind: str) -> Sequence[str]:
        return self.names.get(kind, ())


#: (name, document, paths its meta-schema refused, report) -> the item's sound view, or None.
DocumentCheck = Callable[[str, Mapping[str, Any], Sequence[Parts], Report], Any]
#: The set -> problems of items of this kind that need other items to be judged.
SetCheck = Callable[[SetView], Iterable[ItemProblem]]


def sound_document(name: str, document: Mapping[str, Any], broken: Sequence[Parts], report: Report) -> Any:
    """The document check of a kind with nothing to check in one document beyond its meta-schema:
    the document itself is the view, unless the meta-schema refused any part of it."""
    return None if broken else document


def no_set_check(view: SetView) -> Iterator[ItemProblem]:
    """The set check of a kind whose items name nothing else."""
    yield from ()


@dataclass(frozen=True)
class Kind:
    """One kind of metadata item: where its files live and how an item of it is checked."""

    name: str  # the kind in (kind, name) item keys: "workflow_rule"
    folder: str  # the folder of its files: "workflow_rules"
    meta_validator: Draft202012Validator  # its meta-schema, built once (trellis.metadata.metaschemas)
    check_name: Callable[[str], str | None]  # the sentence why a name is not allowed, or None
    check_document: DocumentCheck = sound_document
    check_set: SetCheck = no_set_check
