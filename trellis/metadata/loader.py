"""Reading metadata from a folder (or from plain documents) into a validated `MetadataSet`.

Files come from admins, app packages and version control, so reading them is defensive: sizes
are checked before reading, nesting is bounded, and every problem in every file is reported in
one `MetadataInvalid` rather than stopping at the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from trellis.metadata.errors import MetadataError, MetadataInvalid, json_path
from trellis.metadata.kinds import FOLDER_KINDS
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.validation import MAX_DEPTH, TOO_DEEP, source_file, validate_set

MAX_FILE_BYTES = 1024 * 1024  # 1 MiB: a large object definition is a few dozen KiB
TOO_BIG = f"the limit is {MAX_FILE_BYTES / 2**20:.1f} MiB ({MAX_FILE_BYTES} bytes)"


def load_folder(path: Path) -> MetadataSet:
    """Every item under `path` (`objects/<name>.json`, ...), validated as a set.

    Files at the top of the folder (a README, an app manifest) are left alone, and so is the
    `__pycache__` of an app that is also a Python package; dotfiles and dot-folders are ignored
    everywhere.
    """
    path = Path(path)
    if not path.is_dir():
        missing = "is not a folder" if path.exists() else "does not exist"
        raise MetadataInvalid([MetadataError(".", "$", f"the metadata folder {path} {missing}")])
    errors: list[MetadataError] = []
    documents: dict[ItemKey, Any] = {}
    sources: dict[ItemKey, str] = {}
    unreadable: list[ItemKey] = []
    for folder in sorted(path.iterdir()):
        kind = FOLDER_KINDS.get(folder.name)
        if folder.name.startswith(".") or folder.name == "__pycache__" or (kind is None and not folder.is_dir()):
            continue
        if kind is None:
            known = ", ".join(sorted(FOLDER_KINDS))
            message = f"unknown folder '{folder.name}'; kind folders are: {known}"
            errors.append(MetadataError(folder.name, "$", message))
            continue
        if not folder.is_dir():
            errors.append(MetadataError(folder.name, "$", f"'{folder.name}' must be a folder of .json files"))
            continue
        for file in sorted(folder.iterdir()):
            if file.name.startswith("."):
                continue
            relative = f"{folder.name}/{file.name}"
            document = _read_item(file, relative, errors)
            if not file.name.endswith(".json"):
                continue  # reported by _read_item
            key = (kind, file.name.removesuffix(".json"))
            sources[key] = relative
            if document is None:
                unreadable.append(key)
            else:
                documents[key] = document
    return _validated(documents, sources, errors, unreadable)


def load_documents(
    documents: Mapping[ItemKey, Any],
    sources: Mapping[ItemKey, str] | None = None,
) -> MetadataSet:
    """The same validation for documents that did not come from files (designer, tests)."""
    return _validated(documents, dict(sources or {}), [], [])


def _validated(
    documents: Mapping[ItemKey, Any],
    sources: Mapping[ItemKey, str],
    errors: list[MetadataError],
    unreadable: list[ItemKey],
) -> MetadataSet:
    """The set of the readable documents, or MetadataInvalid with every error found."""
    items: dict[ItemKey, Mapping[str, Any]] = {}
    for key, document in documents.items():
        if isinstance(document, dict):
            items[key] = document
        else:
            file = sources.get(key, source_file(key))
            errors.append(MetadataError(file, "$", _not_an_object(document)))
            unreadable.append(key)
    metadata = MetadataSet(items)
    errors.extend(validate_set(metadata, sources, unreadable=unreadable))
    if errors:
        raise MetadataInvalid(errors)
    return metadata


class _Fail(Protocol):
    """Records why an item file cannot be used: a sentence, at a JSON path inside the file."""

    def __call__(self, message: str, path: str = "$") -> None: ...


def _read_item(file: Path, relative: str, errors: list[MetadataError]) -> dict[str, Any] | None:
    """The parsed JSON of one item file, or None after appending why it cannot be read."""

    def fail(message: str, path: str = "$") -> None:
        errors.append(MetadataError(relative, path, message))

    if file.is_dir():
        fail("unexpected folder: a kind folder holds only .json files")
        return None
    if not file.name.endswith(".json"):
        fail("not a .json file: a kind folder holds only .json files (dotfiles are ignored)")
        return None
    if not file.is_file():
        fail("not a regular file")
        return None
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            fail(f"the file is {_mib(size)} ({size} bytes); {TOO_BIG}")
            return None
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
    except OSError as exc:
        fail(f"the file cannot be read: {exc.strerror or exc}")
        return None
    if len(data) > MAX_FILE_BYTES:
        fail(f"the file has grown while being read; {TOO_BIG}")
        return None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        fail(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at line {line} (offset {exc.start})")
        return None
    return _parse_json(text, fail)


def _parse_json(text: str, fail: _Fail) -> dict[str, Any] | None:
    """json.loads, with a sentence for each way it can refuse; duplicate keys are reported too."""
    duplicates: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append((result, key))
            result[key] = value
        return result

    def no_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    try:
        document = json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
        return None
    except RecursionError:
        fail(TOO_DEEP)
        return None
    except ValueError as exc:  # NaN/Infinity, integers too long to convert
        fail(f"invalid JSON: {exc}")
        return None
    if not isinstance(document, dict):
        fail(_not_an_object(document))
        return None
    for owner, key in duplicates:
        message = f"duplicate key '{key}': JSON keys must be unique (the later one would silently win)"
        fail(message, _path_of(document, owner))
    return document


def _path_of(document: dict[str, Any], target: dict[str, Any]) -> str:
    """The JSON path of the dict `target` (by identity) inside `document`, found without recursion."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        value, parts = stack.pop()
        if value is target:
            return json_path(parts)
        if len(parts) < MAX_DEPTH:
            if isinstance(value, dict):
                stack.extend((item, [*parts, key]) for key, item in value.items())
            elif isinstance(value, list):
                stack.extend((item, [*parts, index]) for index, item in enumerate(value))
    return "$"


def _not_an_object(value: Any) -> str:
    kinds = {list: "a list", str: "a text", bool: "true or false", type(None): "null", int: "a number"}
    kind = kinds.get(type(value), "a number" if isinstance(value, float) else f"a {type(value).__name__}")
    return f"a metadata document must be a JSON object {{...}}; got {kind}"


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
