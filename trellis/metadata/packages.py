"""App packages: a folder of metadata with an `app.json` manifest, in one or more versions.

A package folder holds the items of its manifest's version in the usual layout (`objects/`,
`workflow_rules/`, … as `load_folder` reads them: the items are discovered, never listed) and
`app.json`:

    {"name": "renewals", "version": "1.0.0", "label": {"en": "…"}, "description": "…",
     "demo_data": "demo_data"}

Later versions may sit beside it as patch sets, `app-<version>.json`:

    {"version": "1.1.0", "from": "1.0.0", "description": "…",
     "changes": {"objects/contract": {<JSON merge patch>}, "workflow_rules/old": null}}

A patch set is the version it starts `from` with each item merge-patched (null removes the item,
a patch of an item the base lacks adds it). Shipping later versions as patches keeps one copy of
the items in the repository: items added to the base folder are in every later version too.
Every version is validated as a whole set when it is loaded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata.errors import MetadataError, MetadataInvalid, json_path
from trellis.metadata.kinds import FOLDER_KINDS, KIND_FOLDERS
from trellis.metadata.loader import load_documents, load_folder
from trellis.metadata.merge import apply_patch
from trellis.metadata.model import ItemKey, MetadataSet

MANIFEST = "app.json"
PATCH_SET = re.compile(r"app-(\d+\.\d+\.\d+)\.json")
VERSION = r"^\d+\.\d+\.\d+$"

_LABEL = {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1}
_MANIFEST_SCHEMA = Draft202012Validator({
    "type": "object",
    "required": ["name", "version", "label"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$",
                 "description": "an app name: lower case letters, digits and _"},
        "version": {"type": "string", "pattern": VERSION, "description": "a version MAJOR.MINOR.PATCH"},
        "label": _LABEL,
        "description": {"type": "string"},
        "demo_data": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$",
                      "description": "the module of the app's package that generates its demo data"},
    },
})
_PATCH_SET_SCHEMA = Draft202012Validator({
    "type": "object",
    "required": ["version", "from", "changes"],
    "additionalProperties": False,
    "properties": {
        "version": {"type": "string", "pattern": VERSION},
        "from": {"type": "string", "pattern": VERSION},
        "label": _LABEL,
        "description": {"type": "string"},
        "changes": {"type": "object", "additionalProperties": {"type": ["object", "null"]}},
    },
})


def version_key(version: str) -> tuple[int, ...]:
    """`1.10.0` sorts after `1.9.0`. `version` must match VERSION."""
    return tuple(int(part) for part in version.split("."))


def normal_version(text: str) -> str | None:
    """A version as given on a command line (`1.1` or `1.1.0`) in full, or None when it is none."""
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    return ".".join(str(int(p)) for p in [*parts, "0", "0"][:3])


@dataclass(frozen=True)
class AppVersion:
    """One version of an app: what installing it publishes."""

    app: str
    version: str
    label: Mapping[str, str]
    description: str
    metadata: MetadataSet
    demo_data: str | None = None


@dataclass(frozen=True)
class _PatchSet:
    version: str
    base: str
    label: Mapping[str, str] | None
    description: str
    changes: Mapping[ItemKey, Mapping[str, Any] | None]


@dataclass(frozen=True)
class AppPackage:
    """An app's folder and the versions it ships (oldest first)."""

    name: str
    folder: Path
    label: Mapping[str, str]
    description: str
    base_version: str
    demo_data: str | None
    patch_sets: Mapping[str, _PatchSet]

    @property
    def versions(self) -> list[str]:
        return sorted([self.base_version, *self.patch_sets], key=version_key)

    @property
    def latest(self) -> str:
        return self.versions[-1]

    def load(self, version: str) -> AppVersion:
        """That version's items, validated as a set; MetadataInvalid names the file and path."""
        if version == self.base_version:
            metadata = load_folder(self.folder)
            return AppVersion(self.name, version, self.label, self.description, metadata, self.demo_data)
        patch_set = self.patch_sets.get(version)
        if patch_set is None:
            known = ", ".join(self.versions)
            raise MetadataInvalid([MetadataError(MANIFEST, "$.version",
                                                 f"{self.name} has no version {version}; it ships {known}")])
        base = self.load(patch_set.base)
        items = {key: dict(doc) for key, doc in base.metadata.items()}
        for key, patch in patch_set.changes.items():
            if patch is None:
                items.pop(key, None)
            else:
                items[key] = apply_patch(items.get(key, {}), patch)
        file = f"app-{version}.json"
        sources = {key: f"{file} changes[{_item_path(key)!r}]" for key in patch_set.changes}
        metadata = load_documents(items, sources)
        return AppVersion(self.name, version, patch_set.label or self.label,
                          patch_set.description or self.description, metadata, self.demo_data)


def read_package(folder: Path) -> AppPackage:
    """The package in `folder`: its manifest and patch sets, checked (items are read by `load`)."""
    errors: list[MetadataError] = []
    manifest = _read_json(folder / MANIFEST, MANIFEST, _MANIFEST_SCHEMA, errors)
    patch_sets: dict[str, _PatchSet] = {}
    for file in sorted(folder.glob("app-*.json")):
        document = _read_json(file, file.name, _PATCH_SET_SCHEMA, errors)
        if document is not None:
            patch_set = _patch_set(file.name, document, errors)
            if patch_set is not None:
                patch_sets[patch_set.version] = patch_set
    if manifest is None:
        raise MetadataInvalid(errors)
    base = manifest["version"]
    known = {base, *patch_sets}
    for patch_set in patch_sets.values():
        name = f"app-{patch_set.version}.json"
        if patch_set.base not in known:
            errors.append(MetadataError(name, "$.from", f"starts from version {patch_set.base}, which the "
                                                        f"package does not ship ({', '.join(sorted(known))})"))
        elif version_key(patch_set.base) >= version_key(patch_set.version):
            errors.append(MetadataError(name, "$.from", f"a version must start from an earlier one; "
                                                        f"{patch_set.version} starts from {patch_set.base}"))
    if base in patch_sets:
        errors.append(MetadataError(f"app-{base}.json", "$.version", f"{base} is the version of {MANIFEST}"))
    if errors:
        raise MetadataInvalid(errors)
    return AppPackage(manifest["name"], folder, manifest["label"], manifest.get("description", ""), base,
                      manifest.get("demo_data"), patch_sets)


def find_packages(root: Path) -> dict[str, AppPackage]:
    """Every package under `root`: each folder with an `app.json`, by app name."""
    found: dict[str, AppPackage] = {}
    for folder in sorted(p for p in root.iterdir() if (p / MANIFEST).is_file()):
        package = read_package(folder)
        if package.name in found:
            raise MetadataInvalid([MetadataError(f"{folder.name}/{MANIFEST}", "$.name",
                                                 f"two packages are named {package.name!r}")])
        found[package.name] = package
    return found


def _item_path(key: ItemKey) -> str:
    kind, name = key
    return f"{KIND_FOLDERS.get(kind, kind)}/{name}"


def parse_item(text: str) -> ItemKey | None:
    """`objects/contract` or `object/contract` as an item key; None when it names no known kind."""
    folder, _, name = text.partition("/")
    kind = FOLDER_KINDS.get(folder) or (folder if folder in KIND_FOLDERS else None)
    return None if kind is None or not name else (kind, name)


def item_label(key: ItemKey) -> str:
    """How reports and arguments spell an item: `objects/contract`."""
    return _item_path(key)


def _patch_set(file: str, document: Mapping[str, Any], errors: list[MetadataError]) -> _PatchSet | None:
    expected = PATCH_SET.fullmatch(file)
    if expected is None or expected.group(1) != document["version"]:
        errors.append(MetadataError(file, "$.version", f"a patch set's file is named app-<its version>.json; "
                                                      f"this one says {document['version']}"))
        return None
    changes: dict[ItemKey, Mapping[str, Any] | None] = {}
    for item, patch in document["changes"].items():
        key = parse_item(item)
        if key is None:
            known = ", ".join(sorted(FOLDER_KINDS))
            errors.append(MetadataError(file, json_path(["changes", item]),
                                        f"expected <kind folder>/<name> with a kind folder among {known}"))
            continue
        changes[key] = patch
    return _PatchSet(document["version"], document["from"], document.get("label"),
                     document.get("description", ""), changes)


def _read_json(path: Path, file: str, schema: Draft202012Validator,
               errors: list[MetadataError]) -> dict[str, Any] | None:
    """A manifest's JSON, checked against its schema; None after recording why it cannot be used."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        errors.append(MetadataError(file, "$", f"no {file} in {path.parent}: an app package needs one"))
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        errors.append(MetadataError(file, "$", f"cannot be read as JSON: {exc}"))
        return None
    found = sorted(schema.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    for error in found:
        hint = error.schema.get("description") if isinstance(error.schema, dict) else None
        message = f"expected {hint}; got {json.dumps(error.instance, ensure_ascii=False)}" if hint else error.message
        errors.append(MetadataError(file, json_path(list(error.absolute_path)), message))
    return None if found else document
