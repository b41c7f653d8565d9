"""What one rendering may spend: the values it builds, the steps it takes, the numbers range() makes.

Caps on single operations are beaten by doubling (`ns.s ~ ns.s` 24 times is 167 million
characters, each step within any cap), so a rendering gets budgets for all it does together:

- values: the characters of every text and the items of every list, tuple and dict it builds,
  measured deep (a list holding a list twice counts it twice, as printing or comparing it would
  go over it twice), MAX_VALUES in all. Memory stays within a small multiple of that.
- steps: loop passes (each weighs what its body holds), calls, filters and tests, and the items
  they go over, MAX_STEPS in all: a bound on time that counts work rather than reading a clock,
  so the same template passes or fails the same way on any machine.
- numbers: what all range() calls make together, MAX_RANGE.

The budget lives in a context variable set for the rendering only: per thread, per rendering,
no global state. Outside a rendering (Jinja folding constants while compiling) there is none,
and whatever asks for it fails, so nothing runs then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from contextvars import ContextVar
from datetime import date, time, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, TypeVar

from jinja2.utils import Namespace

from trellis.metadata.templates import MAX_RANGE
from trellis.runtime.templates.errors import TemplateError

MAX_VALUES = 4_000_000  # characters and items all values built by one rendering may hold together
MAX_STEPS = 500_000  # loop passes, calls and items gone over by one rendering
_SCAN = 6  # a text of 2**_SCAN characters is gone over in about the time of one step
_SCALARS = frozenset({bool, float, Decimal, date, time, timedelta, type(None)})
_NAMESPACE_ATTRS = "_Namespace__attrs"  # where jinja2's Namespace keeps its attributes

Value = TypeVar("Value")

_budget: ContextVar[Budget] = ContextVar("trellis_template_budget")


class Budget:
    """What is left of one rendering's budgets; each method charges and raises TemplateError
    once one is spent."""

    __slots__ = ("numbers", "steps", "values")

    def __init__(self) -> None:
        self.values = MAX_VALUES
        self.steps = MAX_STEPS
        self.numbers = MAX_RANGE

    def step(self, count: int = 1) -> None:
        self.steps -= count
        if self.steps < 0:
            raise TemplateError(f"the template took more than {MAX_STEPS:,} steps (loop passes, calls and the items "
                                f"they go over); the limit is {MAX_STEPS:,} per message: loop over fewer items")

    def require(self, size: int) -> None:
        """Refuse, before it is built, a value of `size` characters and items that would not fit."""
        if size > self.values:
            built = MAX_VALUES - self.values
            before = f" after {built:,} built before it" if built else ""
            raise TemplateError(f"the template built a value of more than {min(size, MAX_VALUES):,} characters and "
                                f"items{before}; the limit is {MAX_VALUES:,} per message: build smaller texts "
                                "and lists (one that doubles in a loop outgrows any limit)")

    def spend(self, size: int) -> None:
        if size > self.values:
            self.require(size)
        self.values -= size

    def size_of(self, value: Any) -> int:
        """The characters and items of `value`, measured deep (charging the steps of going over it);
        more than what is left means it would not fit."""
        kind = type(value)
        if kind is str:
            self.step(1 + (len(value) >> _SCAN))
            return len(value)
        if kind in _SCALARS or kind is int and value.bit_length() <= 64:
            self.step()
            return 1
        size, steps = measure(value, self.values, self.steps)
        self.step(steps)
        return size

    def built(self, value: Value) -> Value:
        """`value`, charged as something the template built."""
        self.spend(self.size_of(value))
        return value

    def handled(self, value: Value, times: int = 1) -> Value:
        """`value`, charging the steps of going over it (comparing, searching it) `times` over
        (sorting, say, compares each item more than once)."""
        if isinstance(value, str | bytes):
            self.step(times * (1 + (len(value) >> _SCAN)))
        elif type(value) in _SCALARS or type(value) is int:
            self.step(times)
        else:
            self.step(times * measure(value, MAX_VALUES, self.steps)[1])
        return value

    def numbers_for(self, count: int) -> None:
        """Charge `count` numbers made by range()."""
        if count > self.numbers:
            raise TemplateError(f"the loops of one message may run at most {MAX_RANGE:,} times in all")
        self.numbers -= count


class rendering:  # noqa: N801 (used as `with rendering():`, like a function)
    """A fresh budget for one rendering, current until it ends (a class rather than a generator:
    it is entered for every message rendered)."""

    __slots__ = ("_token",)

    def __enter__(self) -> Budget:
        budget = Budget()
        self._token = _budget.set(budget)
        return budget

    def __exit__(self, *exception: object) -> None:
        _budget.reset(self._token)


def current() -> Budget:
    """The budget of the rendering under way."""
    try:
        return _budget.get()
    except LookupError:
        raise TemplateError("template code runs only while its template renders") from None


def measure(value: Any, size_limit: int, step_limit: int) -> tuple[int, int]:
    """(characters and items, steps to go over them) of `value`, walked deep without recursion.
    A container's items are counted before it is walked, and the walk stops once either count
    passes its limit (a cycle, `l.append(l)`, passes both). This walk is what charging a large
    value costs, so texts and numbers are measured in place and the common types are told
    apart by their exact type first."""
    size, steps = 0, 1
    pending: list[Iterable[Any]] = [(value,)]  # containers whose items are still to be measured
    while pending:
        if size > size_limit or steps > step_limit:
            break
        for item in pending.pop():
            kind = type(item)
            if kind is str:
                size += len(item)
                steps += len(item) >> _SCAN
            elif kind in _SCALARS:
                size += 1
            elif kind is int:
                size += 1 if item.bit_length() <= 64 else item.bit_length() // 3  # about its digits
            elif kind is list or kind is tuple:
                size += len(item)
                steps += len(item)
                pending.append(item)
            elif kind is dict:
                size += len(item)
                steps += 2 * len(item)
                pending += (item.keys(), item.values())
            else:
                size, steps = _measure_other(item, size, steps, pending)
    return size, steps


def _measure_other(item: Any, size: int, steps: int, pending: list[Iterable[Any]]) -> tuple[int, int]:
    """`measure` for what is not a plain text, number, list, tuple or dict."""
    if isinstance(item, str | bytes):
        return size + len(item), steps + (len(item) >> _SCAN)
    if isinstance(item, list | tuple | AbstractSet):
        pending.append(item)
        return size + len(item), steps + len(item)
    if isinstance(item, Mapping):
        pending.append(chain(item.keys(), item.values()))
        return size + len(item), steps + 2 * len(item)
    if isinstance(item, Namespace):
        pending.append((getattr(item, _NAMESPACE_ATTRS, {}),))
        return size + 1, steps + 1
    return size + 1, steps
