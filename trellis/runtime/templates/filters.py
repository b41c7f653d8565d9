"""The filters and tests templates may use (`trellis.metadata.templates` names them), each
charging the rendering's budget.

Every filter charges a step and the steps of going over what it is given (sorting, joining,
searching it), is bounded before it runs when it can build far more than it was given
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
_GLANCING = frozenset({"length", "count", "first", "last", "default", "d", "attr", "random", "safe", "abs", "int",
                       "float", "round"} | HELPERS)


def budgeted_filters(own: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Every filter a template may use: Jinja's (`JINJA_FILTERS`) and `own` (the helpers and
    `tojson`, which replace Jinja's of the same name), each charging the budget."""
    chosen = {name: own.get(name) or FILTERS[name] for name in JINJA_FILTERS | HELPERS}
    return {name: _budgeted_filter(name, builtin) for name, builtin in chosen.items()}


def budgeted_tests() -> dict[str, Any]:
    """Every test a template may use (`TEMPLATE_TESTS`, all Jinja's), each charging the budget."""
    return {name: _budgeted_test(cast(Callable[..., Any], TESTS[name])) for name in TEMPLATE_TESTS}


def _budgeted_filter(name: str, builtin: Callable[..., Any]) -> Callable[..., Any]:
    at = 1 if getattr(builtin, "jinja_pass_arg", None) is not None else 0  # after the context it is given
    bound = FILTER_BOUNDS.get(name)

    @functools.wraps(builtin)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        value = args[at] if len(args) > at else kwargs.get("value")
        if name not in _GLANCING:
            budget.handled(value)
        if name in SIZE_FILTERS:
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
