"""JSON text for metadata documents: one pretty form for files, one canonical form for hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def pretty_json(document: Mapping[str, Any]) -> str:
    """The on-disk form: two-space indent, authored key order, real UTF-8 (readable Chinese)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def canonical_json(document: Any) -> str:
    """Key-order independent, whitespace-free form: equal documents give equal text."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(document: Any) -> str:
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
