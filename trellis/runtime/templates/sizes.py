"""How large a text an operation can build, worked out before it runs.

Most operations build at most a few times what they were given, which the budget charges once
built. These can build far more from little (`'x'.center(10**9)`, `s|replace('', s)`,
`'%s%s%s' % (s, s, s)`, `s|indent(w)` on many lines), so each has a bound here that the budget
must hold before the operation may run. A bound is an upper estimate, cheap to work out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from trellis.metadata.templates import MAX_OUTPUT, WIDE_FORMAT
from trellis.runtime.templates.budget import Budget
from trellis.runtime.templates.errors import TemplateError

#: How long one formatted field may be at least (a float written out in full is about 320).
_FIELD = 320
#: How many characters one character or item may become: written out by `repr` (`'\\U0001f600'`),
#: escaped for HTML (`&#34;`), URL-encoded (`%F0%9F%98%80`), changed in case (`ß` to `SS`).
_WRITTEN, _ESCAPED, _URL_ENCODED, _CASED = 10, 6, 12, 3
_NUMBER_RUN = re.compile(r"\d+")

#: (budget, the value operated on, the other arguments, keyword arguments) -> the largest size.
Bound = Callable[[Budget, Any, Sequence[Any], Mapping[str, Any]], int]


def as_text(budget: Budget, value: Any) -> int:
    """At most how long `value` is once written out as text (`str()`, `~`, `{{ }}`)."""
    return len(value) if isinstance(value, str) else _WRITTEN * budget.size_of(value)


def check_widths(values: Iterable[Any]) -> None:
    """Widths and counts (`center(n)`, `batch(n)`) no larger than a message may be."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_OUTPUT:
            raise TemplateError(f"a width of {value} is larger than a message may be ({MAX_OUTPUT:,})")


def check_format(text: str) -> None:
    if WIDE_FORMAT.search(text):
        raise TemplateError("format widths must be written out and below 100000")


def formatted(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`text % args`, `text.format(*args, **kwargs)`: the text, each field as long as the largest
    argument, and every width and precision written in the text."""
    if not isinstance(text, str):
        return 0
    check_format(text)
    budget.handled(text)
    values = [*args, *kwargs.values()]
    if len(values) == 1 and isinstance(values[0], tuple | Mapping):
        values = list(values[0].values() if isinstance(values[0], Mapping) else values[0])
    largest = max([_FIELD, *(as_text(budget, value) for value in values)])
    widths = sum(int(run) for run in _NUMBER_RUN.findall(text))
    return len(text) + (text.count("%") + text.count("{")) * largest + widths


def padded(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`center`, `ljust`, `rjust`, `zfill` (method or filter): the text or the width."""
    check_widths([*args, *kwargs.values()])
    width = args[0] if args else kwargs.get("width", 80)
    size = len(text) if isinstance(text, bytes) else as_text(budget, text)
    return max(size, width if isinstance(width, int) else 0)


def replaced(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`replace(old, new[, count])` of a text (or bytes): every occurrence grown by the difference."""
    old = args[0] if args else kwargs.get("old", "")
    new = args[1] if len(args) > 1 else kwargs.get("new", "")
    if not _same_kind(text, old, new):
        return 0
    budget.handled(text)
    count = args[2] if len(args) > 2 else kwargs.get("count")
    found: int = text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def indented(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`indent(width, first, blank)`: the width (a number of spaces or a text) on every line, but
    blank lines unless `blank` (each line that is not blank holds a character at least)."""
    check_widths([*args, *kwargs.values()])
    width = args[0] if args else kwargs.get("width", 4)
    if not isinstance(text, str):
        return 0
    budget.handled(text)
    each = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    lines = text.count("\n") + 1
    if not (args[2] if len(args) > 2 else kwargs.get("blank", False)):
        lines = min(lines, len(text) - lines + 2)
    return len(text) + lines * each


def tabs_expanded(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`expandtabs(tabsize)`: every tab as wide as the tab size."""
    check_widths([*args, *kwargs.values()])
    size = args[0] if args else kwargs.get("tabsize", 8)
    if not isinstance(text, str | bytes) or not isinstance(size, int):
        return 0
    budget.handled(text)
    tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
    return len(text) + tabs * size


def wrapped(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`wordwrap(width, break_long_words, wrapstring)`: at worst a wrap after every character."""
    wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
    size = as_text(budget, text)
    return size + (size + 1) * (len(wrap) if isinstance(wrap, str) else 2)


def translated(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`translate(table)`: every character as its longest replacement."""
    table = args[0] if args else None
    if not isinstance(text, str) or not isinstance(table, Mapping):
        return 0
    longest = max([1, *(budget.size_of(value) for value in table.values())])
    return len(text) * longest


def joined_items(budget: Budget, separator: Any, items: Any) -> int:
    """`separator.join(items)`, `items|join(separator)`: the items written out and a separator
    between each two (items that are not a list yet are made one first, by the caller)."""
    if not isinstance(separator, str | bytes) or not isinstance(items, Sequence):
        return 0
    written = len(items) if isinstance(items, str) else sum(as_text(budget, item) for item in items)
    return written + len(items) * len(separator)


def truncated(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`truncate(length, killwords, end)`: the text and the end."""
    end = args[2] if len(args) > 2 else kwargs.get("end", "...")
    return as_text(budget, text) + (len(end) if isinstance(end, str) else 0)


def summed(budget: Budget, items: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`sum(attribute, start)` adds numbers: adding lists copies each sum so far again (the
    square of the items), so a start that is not a number is refused."""
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if not isinstance(start, int | float | Decimal):
        raise TemplateError(f"sum adds numbers; its start is {type(start).__name__} (to join lists, loop over them)")
    return 0


def urlized(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`urlize(trim_url_limit, nofollow, target, rel)`: the text escaped twice over (a link's
    address and its text), and every word a link carrying its target and rel."""
    if not isinstance(text, str):
        return 0
    extra = sum(len(v) for v in (*args[2:4], kwargs.get("target"), kwargs.get("rel")) if isinstance(v, str))
    words = sum(text.count(space) for space in " \t\n\r") + 1
    return 2 * _ESCAPED * len(text) + words * (64 + _ESCAPED * extra)


def scaled(factor: int) -> Bound:
    """The bound of a filter that writes its value out as text, each character as up to `factor`."""

    def bound(budget: Budget, value: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
        return factor * as_text(budget, value)

    return bound


def _same_kind(*values: Any) -> bool:
    """All texts, or all bytes (what `replace` and `count` take together)."""
    return all(isinstance(v, str) for v in values) or all(isinstance(v, bytes) for v in values)


#: The bound of each method of a text (or bytes) that can build more than it was given.
METHOD_BOUNDS: Mapping[str, Bound] = {
    "center": padded, "ljust": padded, "rjust": padded, "zfill": padded, "expandtabs": tabs_expanded,
    "replace": replaced, "translate": translated,
    "join": lambda budget, separator, args, kwargs: joined_items(budget, separator, args[0]) if args else 0,
}

#: The bound of each filter that can build more than it was given (`join` is given a list).
FILTER_BOUNDS: Mapping[str, Bound] = {
    "center": padded, "indent": indented, "replace": replaced, "format": formatted, "wordwrap": wrapped,
    "truncate": truncated, "sum": summed, "urlize": urlized,
    "string": scaled(1), "safe": scaled(1), "striptags": scaled(1), "lower": scaled(_CASED), "upper": scaled(_CASED),
    "title": scaled(_CASED), "capitalize": scaled(_CASED), "escape": scaled(_ESCAPED), "e": scaled(_ESCAPED),
    "forceescape": scaled(_ESCAPED), "tojson": scaled(_ESCAPED), "xmlattr": scaled(_ESCAPED),
    "urlencode": scaled(_URL_ENCODED),
    "join": lambda budget, items, args, kwargs: joined_items(budget, args[0] if args else kwargs.get("d", ""), items),
}
