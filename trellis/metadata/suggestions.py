""""Did you mean …?": the closest known name to a misspelt one, for any sentence that names a name.

Metadata checks, the identity and channel settings of the runtime and CSV imports all point an
admin from a typo to the name they meant, the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name` (a likely typo), if any is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return close[0] if close else None


def suggest(name: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' when a candidate is close to `name`, else ''."""
    close = closest(name, candidates)
    return f"; did you mean '{close}'?" if close else ""
