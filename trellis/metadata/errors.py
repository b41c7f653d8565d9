"""Errors found in metadata, each pinned to a file and a JSON path.

Loading never stops at the first problem: every check appends `MetadataError`s and the caller
raises one `MetadataInvalid` holding all of them, so an admin fixes a folder in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType


class Coded(str):
    """A sentence that also says what it is: a stable `code` and the `params` it was made from.

    It is the English sentence itself (the CLI prints it, tests compare it), so a check that
    words an error this way changes nothing for those readers; the designer renders the code in
    the page's language from its catalogue, the params (text, or `Coded` themselves) filled in,
    and falls back to the sentence for a code it has no words for.
    """

    code: str
    params: Mapping[str, object]

    def __new__(cls, text: str, code: str, params: Mapping[str, object]) -> Coded:
        made = super().__new__(cls, text)
        made.code = code
        made.params = MappingProxyType(dict(params))
        return made

    def __reduce__(self) -> tuple[type[Coded], tuple[str, str, dict[str, object]]]:
        """Copied and pickled with its code (a worker process may hand errors back)."""
        return Coded, (str(self), self.code, dict(self.params))


def coded(code: str, text: str, **params: object) -> str:
    """`text` (the English sentence, worded where it is made) marked with its code and params."""
    return Coded(text, code, params)


def code_of(message: str) -> str | None:
    """The code of a sentence, None for one worded without a code."""
    return message.code if isinstance(message, Coded) else None


@dataclass(frozen=True, order=True)
class MetadataError:
    """One problem: where it is (file, JSON path) and a sentence a human understands (a `Coded`
    one where the check gives its code)."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"

    @property
    def code(self) -> str | None:
        return code_of(self.message)


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
