"""Errors found in metadata, each pinned to a file and a JSON path.

Loading never stops at the first problem: every check appends `MetadataError`s and the caller
raises one `MetadataInvalid` holding all of them, so an admin fixes a folder in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class MetadataError:
    """One problem: where it is (file, JSON path) and a sentence a human understands."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


Parts = Sequence[str | int]  # a JSON path before rendering: ("properties", "amount", "x-kind")


def json_path(parts: Iterable[str | int]) -> str:
    """Render path parts as `$.properties.amount.x-kind` / `$.required[2]`."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


class MetadataInvalid(Exception):
    """Raised with every error found; nothing was changed."""

    def __init__(self, errors: Sequence[MetadataError]):
        self.errors = sorted(errors)
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{len(self.errors)} error(s) in metadata:"]
        lines += [f"  {error}" for error in self.errors]
        return "\n".join(lines)
