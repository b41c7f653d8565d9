"""Jinja's sandbox, charging the rendering's budget (`budget.py`) for what a template does.

The sandbox refuses Python internals; this subclass also charges every way a template builds
a value or spends time: calls (and what they return or add to a list), `+`, `*`, `%` and `**`,
`~` and what the metered code generator routes here (loop passes, comparisons, slices, literal
lists), and what is printed. Operations that can build far more than they were given are
bounded before they run (`sizes.py`), so a value too large for the budget is never built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from trellis.metadata.expressions import MAX_EXPONENT
from trellis.metadata.templates import MAX_OUTPUT, SIZE_METHODS
from trellis.runtime.expressions.values import MAX_POWER_BITS
from trellis.runtime.templates.budget import current
from trellis.runtime.templates.errors import TemplateError
from trellis.runtime.templates.metering import MeteredCodeGenerator
from trellis.runtime.templates.sizes import METHOD_BOUNDS, as_text, check_widths, formatted

Value = TypeVar("Value")

#: Methods of lists that go over every item (comparing each), unlike `append` or `pop`.
_SCANNING = frozenset({"count", "index", "remove", "sort", "copy", "reverse", "__contains__"})


class Sandbox(SandboxedEnvironment):
    """The sandbox, with every rendering held to its budget."""

    code_generator_class = MeteredCodeGenerator
    intercepted_binops = frozenset({"+", "*", "%", "**"})

    # -- called by the metered code ------------------------------------------------------------

    @staticmethod
    def charge_steps(count: int) -> None:
        current().step(count)

    @staticmethod
    def metered(items: Iterable[Value], count: int) -> Iterator[Value]:
        """The items of a loop with an `if`, charging `count` steps for each (tested or not)."""
        budget = current()
        for item in items:
            budget.step(count)
            yield item

    @staticmethod
    def built(value: Value) -> Value:
        return current().built(value)

    @staticmethod
    def handled(value: Value) -> Value:
        return current().handled(value)

    @staticmethod
    def joined(parts: Sequence[Any]) -> str:
        """`a ~ b ~ …`: what is not text yet is charged as long as it may be once written out, and
        the whole before it is built."""
        budget = current()
        texts = [part if isinstance(part, str) else str(_written(part)) for part in parts]
        budget.spend(sum(map(len, texts)))
        return "".join(texts)

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        """The body of a macro, a `{% set %}` block or a filter block, joined: charged first."""
        texts = parts if isinstance(parts, list) else list(parts)
        current().spend(sum(map(len, texts)))
        return "".join(texts)

    # -- the sandbox's hooks -------------------------------------------------------------------

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current()
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            for items, times in ((left, right), (right, left)):
                if isinstance(items, str | bytes | list | tuple) and isinstance(times, int):
                    if len(items) * times > MAX_OUTPUT:
                        raise TemplateError(f"repetition would make {len(items) * times:,} items; "
                                            f"the limit is {MAX_OUTPUT:,}")
                    budget.spend(budget.size_of(items) * max(times, 0))
            if type(left) is int and type(right) is int and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                raise TemplateError("a product of whole numbers this large is too large to compute")
        elif operator == "+" and isinstance(left, str | bytes | list | tuple) \
                and isinstance(right, str | bytes | list | tuple):
            budget.spend(budget.size_of(left) + budget.size_of(right))
        elif operator == "%" and isinstance(left, str):
            budget.require(formatted(budget, left, (right,), {}))
            return budget.built(super().call_binop(context, operator, left, right))
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's)
        budget = current()
        budget.step()
        receiver = getattr(__obj, "__self__", None)
        growing = receiver if isinstance(receiver, list | dict | set) else None
        if growing is not None:  # `l.extend(l)` doubles a list in place: what it may add must fit first
            before = len(growing)
            if getattr(__obj, "__name__", "") in _SCANNING:
                budget.handled(growing)
            given = (*args, *kwargs.values())
            budget.require(sum(len(arg) for arg in given if isinstance(arg, str | list | tuple | dict | set)))
        elif isinstance(receiver, str | bytes):
            args = _bounded_method(receiver, getattr(__obj, "__name__", ""), args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        if growing is not None:
            budget.spend(max(0, len(growing) - before))
        if result is None or result is receiver or isinstance(result, _VIEWS):
            return result
        return budget.built(result)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`'…'.format(…)` and `format_map`, bounded before they run."""
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        text: str = value.__self__
        mapping = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            budget = current()
            given = args[0] if mapping and args and isinstance(args[0], Mapping) else kwargs
            budget.require(formatted(budget, text, () if mapping else args, given))
            return formatter(*args, **kwargs)

        return bounded


_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))


def _bounded_method(text: str | bytes, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """A text's (or bytes') method's arguments, once what it can build is known to fit (`join`
    is given a list, so that it can be measured)."""
    budget = current()
    budget.handled(text)
    if name in SIZE_METHODS:
        check_widths([*args, *kwargs.values()])
    if name == "join" and args and not isinstance(args[0], list | tuple):
        args = (list(args[0]), *args[1:])
    bound = METHOD_BOUNDS.get(name)
    if bound is not None:
        budget.require(bound(budget, text, args, kwargs))
    return args


def _check_power(base: Any, exponent: Any) -> None:
    if not isinstance(exponent, int | float):
        return
    if abs(exponent) > MAX_EXPONENT:
        raise TemplateError(f"the exponent {exponent} is too large; the limit is {MAX_EXPONENT}")
    if isinstance(base, int) and abs(base).bit_length() * exponent > MAX_POWER_BITS:
        raise TemplateError(f"a power of a {abs(base).bit_length()}-bit number is too large to compute")


def budgeted_range(*args: int) -> range:
    """`range`, drawing on the rendering's budget of MAX_RANGE numbers in all."""
    numbers = range(*args)
    current().numbers_for(len(numbers))
    return numbers


def printed(value: Any) -> Any:
    """What `{{ … }}` writes (Jinja's `finalize`): None as nothing; a value that is not text yet
    is charged as long as it may be once written out."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    return _written(value)


def _written(value: Value) -> Value:
    """`value`, about to be written out as text: charged as long as that text may be."""
    budget = current()
    budget.spend(as_text(budget, value))
    return value


__all__ = ["Sandbox", "budgeted_range", "printed"]
