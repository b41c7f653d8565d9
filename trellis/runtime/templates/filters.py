"""The filters and tests templates may use (`trellis.metadata.templates` names them), each
charging the rendering's budget.

Every filter charges a step and the steps of going over what it is given (sorting, joining,
searching it: more for filters that run Python code for each character or compare items), is
bounded before it runs when it can build far more than it was given
(`sizes.FILTER_BOUNDS`, widths and counts), and has what it returns charged as built. The
filters that hand back a generator (`map`, `select`, `batch`) are charged as it is used: by the
loop that goes over it or the filter that makes it a list. Tests charge a step and what they go
over (`x is in items`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import GeneratorType
from typing import Any, cast

from jinja2.filters import FILTERS
from jinja2.tests import TESTS

from trellis.metadata.templates import HELPERS, JINJA_FILTERS, SIZE_FILTERS, TEMPLATE_TESTS
from trellis.runtime.templates.budget import current
from trellis.runtime.templates.sizes import FILTER_BOUNDS, check_widths

#: Filters that only look at what they are given (its length, its first item), never over all of it.
_GLANCING = frozenset({"length", "count", "first", "last", "default", "d", "attr", "random", "abs", "int",
                       "float", "round"} | HELPERS)
#: Filters that go over a text at the speed of Python's own string code (a step per 64
#: characters, as `in` does); the others run Python code for each character or word of a text
#: (`wordwrap`, `title`, `urlize`, or a text given where a list is expected, `'…'|sort`), a
#: step for each character (`join` and `striptags` too: tens of nanoseconds a character).
_FAST_ON_TEXT = frozenset({"capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower", "replace",
                           "reverse", "safe", "string", "tojson", "trim", "truncate", "upper"})
#: Filters that compare items with each other: the steps of going over them, this many times.
_COMPARING = {"sort": 4, "unique": 4, "groupby": 4, "dictsort": 4, "min": 2, "max": 2}


def budgeted_filters(own: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Every filter a template may use: Jinja's (`JINJA_FILTERS`) and `own` (the helpers and
    `tojson`, which replace Jinja's of the same name), each charging the budget. Jinja's are
    wrapped once, here at import: a `Templates` is made for every planning of rules."""
    missing = HELPERS - own.keys()
    if missing:
        raise ValueError(f"no helper given for {', '.join(sorted(missing))}")
    return {**_JINJA_FILTERS, **{name: _budgeted_filter(name, helper) for name, helper in own.items()}}


def budgeted_tests() -> dict[str, Any]:
    """Every test a template may use (`TEMPLATE_TESTS`, all Jinja's), each charging the budget."""
    return dict(_TESTS)


def _budgeted_filter(name: str, builtin: Callable[..., Any]) -> Callable[..., Any]:
    at = 1 if getattr(builtin, "jinja_pass_arg", None) is not None else 0  # after the context it is given
    bound = FILTER_BOUNDS.get(name)
    glancing = name in _GLANCING
    per_character = not glancing and name not in _FAST_ON_TEXT
    times = _COMPARING.get(name, 1)
    sized = name in SIZE_FILTERS

    @functools.wraps(builtin)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        value = args[at] if len(args) > at else kwargs.get("value")
        if per_character and isinstance(value, str):
            budget.step(len(value) * times)
        elif not glancing:
            budget.handled(value, times)
        if sized:
            check_widths([*args[at + 1:], *kwargs.values()])
        if bound is not None:
            if name == "join" and len(args) > at and isinstance(value, Iterable) and not isinstance(value, Sequence):
                value = budget.built(list(value))
                args = (*args[:at], value, *args[at + 1:])
            budget.require(bound(budget, value, args[at + 1:], kwargs))
        result = builtin(*args, **kwargs)
        if result is value or isinstance(result, GeneratorType):
            return result
        return budget.built(result)

    return budgeted


def _budgeted_test(builtin: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(builtin)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        for value in args:
            budget.handled(value)
        return builtin(*args, **kwargs)

    return budgeted


_JINJA_FILTERS = {name: _budgeted_filter(name, FILTERS[name]) for name in JINJA_FILTERS}
_TESTS = {name: _budgeted_test(cast(Callable[..., Any], TESTS[name])) for name in TEMPLATE_TESTS}
