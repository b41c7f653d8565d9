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
_NUMBER_RUN = re.compile(r"\d+")

#: (budget, the value operated on, the other arguments, keyword arguments) -> the largest size.
Bound = Callable[[Budget, Any, Sequence[Any], Mapping[str, Any]], int]


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
    largest = max([_FIELD, *(budget.size_of(value) for value in values)])
    widths = sum(int(run) for run in _NUMBER_RUN.findall(text))
    return len(text) + (text.count("%") + text.count("{")) * largest + widths


def padded(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`center`, `ljust`, `rjust`, `zfill` (method or filter): the text or the width."""
    check_widths([*args, *kwargs.values()])
    width = args[0] if args else kwargs.get("width", 80)
    return max(len(str(text)) if isinstance(text, str) else _FIELD, width if isinstance(width, int) else 0)


def replaced(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`replace(old, new[, count])`: every occurrence grown by the difference."""
    old = args[0] if args else kwargs.get("old", "")
    new = args[1] if len(args) > 1 else kwargs.get("new", "")
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    budget.handled(text)
    count = args[2] if len(args) > 2 else kwargs.get("count")
    found = text.count(old)
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
    if not isinstance(text, str) or not isinstance(size, int):
        return 0
    budget.handled(text)
    return len(text) + text.count("\t") * size


def wrapped(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`wordwrap(width, break_long_words, wrapstring)`: at worst a wrap after every character."""
    wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
    if not isinstance(text, str):
        return 0
    return len(text) + (len(text) + 1) * (len(wrap) if isinstance(wrap, str) else 2)


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
    if not isinstance(separator, str) or not isinstance(items, Sequence):
        return 0
    return budget.size_of(items) + len(items) * (len(separator) + _FIELD // 10)


def truncated(budget: Budget, text: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`truncate(length, killwords, end)`: the text and the end."""
    end = args[2] if len(args) > 2 else kwargs.get("end", "...")
    return (len(text) if isinstance(text, str) else _FIELD) + (len(end) if isinstance(end, str) else 0)


def summed(budget: Budget, items: Any, args: Sequence[Any], kwargs: Mapping[str, Any]) -> int:
    """`sum(attribute, start)` adds numbers: adding lists copies each sum so far again (the
    square of the items), so a start that is not a number is refused."""
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if not isinstance(start, int | float | Decimal):
        raise TemplateError(f"sum adds numbers; its start is {type(start).__name__} (to join lists, loop over them)")
    return 0


#: The bound of each string method that can build more than it was given.
METHOD_BOUNDS: Mapping[str, Bound] = {
    "center": padded, "ljust": padded, "rjust": padded, "zfill": padded, "expandtabs": tabs_expanded,
    "replace": replaced, "translate": translated,
    "join": lambda budget, separator, args, kwargs: joined_items(budget, separator, args[0]) if args else 0,
}

#: The bound of each filter that can build more than it was given (`join` is given a list).
FILTER_BOUNDS: Mapping[str, Bound] = {
    "center": padded, "indent": indented, "replace": replaced, "format": formatted, "wordwrap": wrapped,
    "truncate": truncated, "sum": summed,
    "join": lambda budget, items, args, kwargs: joined_items(budget, args[0] if args else kwargs.get("d", ""), items),
}
