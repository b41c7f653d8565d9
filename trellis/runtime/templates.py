"""Message templates: Jinja2 in its sandbox, with money and dates in the tenant's locale.

Tenant admins write these templates, so they run in Jinja's `SandboxedEnvironment` with no
app globals: a template sees the plain data of its context and the helpers below, nothing
else, and Python internals (`''.__class__`, `record.__init__`) are refused. `StrictUndefined`
makes a misspelt name an error rather than a silent blank; None renders as nothing.

A message must not be able to exhaust the worker that renders it, so output is streamed and
capped at MAX_OUTPUT characters, all `range()` calls of one rendering share one budget of
MAX_RANGE items (nested loops cannot multiply), and the ways a single expression can build a
huge value are bounded: repetition (`'x' * n`), powers, padding (`center`, `ljust`, `indent`)
and format widths (`'%999999999s'`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2.sandbox import SandboxedEnvironment

from trellis.metadata.expressions import MAX_EXPONENT
from trellis.runtime.expressions.values import MAX_POWER_BITS

MAX_OUTPUT = 100_000  # characters of one rendered message
MAX_RANGE = jinja2.sandbox.MAX_RANGE  # items all range() calls of one rendering may produce together
MAX_SOURCE = 20_000  # characters of a template's source
CACHE_SIZE = 256  # compiled templates kept per Templates

#: Format specs that could allocate a huge string: a width or precision of six digits or more,
#: or one taken from the arguments (`%*s`, `{:{}}`).
_WIDE_FORMAT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{6}|\d*\.(?:\*|\d{6}))|\{[^{}]*:[^{}]*(?:\{|\d{6})")

_range_left: ContextVar[list[int]] = ContextVar("trellis_template_range_left")


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message says where and why."""


class CompiledTemplate:
    """One parsed template, ready to render any number of times (and from any thread)."""

    def __init__(self, source: str, template: jinja2.Template):
        self.source = source
        self._template = template

    def render(self, context: Mapping[str, Any]) -> str:
        token = _range_left.set([MAX_RANGE])
        try:
            return "".join(_capped(self._template.generate(dict(context))))
        except Exception as error:
            raise TemplateError(_located(error)) from error
        finally:
            _range_left.reset(token)


class Templates:
    """Compiles and renders message templates for one tenant (its locale, time zone, currency)."""

    def __init__(self, locale: str, timezone: ZoneInfo, currency: str = "CNY"):
        try:
            self.locale = Locale.parse(locale, sep="-" if "-" in locale else "_")
        except (UnknownLocaleError, ValueError) as error:
            raise ValueError(f"unknown locale {locale!r} (expected a tag such as zh-CN or en)") from error
        self.timezone = timezone
        self.currency = currency
        helpers: dict[str, Callable[..., str]] = {
            "money": self.format_money, "number": self.format_number, "percent": self.format_percent,
            "date": self.format_date, "datetime": self.format_datetime,
        }
        self._env = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, finalize=_blank_none)
        self._env.globals = {"range": _budgeted_range, "dict": dict, "namespace": self._env.globals["namespace"],
                             **helpers}
        self._env.filters.update(helpers, tojson=json_text)
        for name in ("center", "indent", "batch"):
            self._env.filters[name] = _size_checked(self._env.filters[name])
        self._env.filters["format"] = _format_checked(self._env.filters["format"])
        self._compile = functools.lru_cache(maxsize=CACHE_SIZE)(self._build)

    def compile(self, source: str) -> CompiledTemplate:
        """The parsed template (cached by source), or TemplateError naming the line at fault."""
        return self._compile(source)

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        return self.compile(source).render(context)

    def _build(self, source: str) -> CompiledTemplate:
        if len(source) > MAX_SOURCE:
            raise TemplateError(f"the template is {len(source):,} characters long; the limit is {MAX_SOURCE:,}")
        try:
            return CompiledTemplate(source, self._env.from_string(source))
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"line {error.lineno}: {error.message}") from error

    # -- helpers available in templates --------------------------------------------------------

    def format_money(self, value: Any, currency: str | None = None) -> str:
        """`¥1,234.50` (zh-CN), `CN¥1,234.50` (en): the currency's own decimals, locale symbols."""
        if value is None:
            return ""
        return format_currency(_number(value, "money"), currency or self.currency, locale=self.locale)

    def format_number(self, value: Any, digits: int | None = None) -> str:
        """Grouped in the locale's way; `digits` fixes the decimals, else up to three are shown."""
        if value is None:
            return ""
        return format_decimal(_number(value, "number"), format=_pattern(digits), locale=self.locale)

    def format_percent(self, value: Any, digits: int | None = None) -> str:
        """`value` is already a percentage (12.5 → `12.5%`), as percent fields store it; without
        `digits` up to two decimals are shown."""
        if value is None:
            return ""
        pattern = _pattern(digits, default="#,##0.##") + "%"
        return format_percent(_number(value, "percent") / 100, format=pattern, locale=self.locale)

    def format_date(self, value: Any, format: str = "long") -> str:
        """A calendar day (`2026年3月1日`): `short`, `medium`, `long`, `full` or a Babel pattern.
        A date-time is first moved into the tenant's time zone."""
        if value is None:
            return ""
        moment = self._local(value, "date")
        day = moment.date() if isinstance(moment, datetime) else moment
        return format_date(day, format=format, locale=self.locale)

    def format_datetime(self, value: Any, format: str = "medium") -> str:
        """An instant in the tenant's time zone; a bare date means its local midnight."""
        if value is None:
            return ""
        moment = self._local(value, "datetime")
        if not isinstance(moment, datetime):
            moment = datetime.combine(moment, time(), tzinfo=self.timezone)
        return format_datetime(moment, format=format, tzinfo=self.timezone, locale=self.locale)

    def _local(self, value: Any, helper: str) -> date | datetime:
        """A date as it is, or a date-time in the tenant's zone. Date-times without an offset
        are UTC, as Trellis stores them; text is ISO 8601."""
        if isinstance(value, str):
            text = value.strip()
            try:
                value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
            except ValueError:
                raise TemplateError(f"{helper}: {value!r} is not an ISO date or date-time") from None
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return aware.astimezone(self.timezone)
        if isinstance(value, date):
            return value
        raise TemplateError(f"{helper}: expected a date or date-time, got {type(value).__name__}")


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def _number(value: Any, helper: str) -> Decimal:
    """An exact Decimal of a number or numeric text (floats through their shortest repr)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        raise TemplateError(f"{helper}: {value!r} is not a number") from None
    if not number.is_finite():
        raise TemplateError(f"{helper}: {value!r} is not a finite number")
    return number


def _pattern(digits: int | None, default: str = "#,##0.###") -> str:
    if digits is None:
        return default
    if not isinstance(digits, int) or not 0 <= digits <= 20:
        raise TemplateError(f"digits must be a whole number from 0 to 20, got {digits!r}")
    return "#,##0" + ("." + "0" * digits if digits else "")


def json_text(value: Any) -> str:
    """JSON text for bodies that are JSON (the `tojson` filter, webhooks): non-ASCII text as it
    is, decimals as exact text (`"1234.50"`), dates and date-times in ISO 8601."""
    return json.dumps(value, ensure_ascii=False, default=_json_plain)


def _json_plain(value: Any) -> str:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


# -- limits ------------------------------------------------------------------------------------


class _Sandbox(SandboxedEnvironment):
    """The sandbox, with sizes bounded where one expression could build a huge value."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float):
            if abs(right) > MAX_EXPONENT:
                raise TemplateError(f"the exponent {right} is too large; the limit is {MAX_EXPONENT}")
            if isinstance(left, int) and abs(left).bit_length() * right > MAX_POWER_BITS:
                raise TemplateError(f"a power of a {abs(left).bit_length()}-bit number is too large to compute")
        if operator == "*":
            for items, times in ((left, right), (right, left)):
                if isinstance(items, str | list | tuple) and isinstance(times, int) and len(items) * times > MAX_OUTPUT:
                    raise TemplateError(f"repetition would make {len(items) * times:,} items; the limit is {MAX_OUTPUT:,}")
        if operator == "%" and isinstance(left, str):
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(__obj, "__self__", None), str):  # 'x'.center(n), .ljust(n), .zfill(n)
            _check_sizes(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if isinstance(getattr(value, "__self__", None), str) and getattr(value, "__name__", "") in (
                "format", "format_map"):
            _check_format(value.__self__)
        return super().wrap_str_format(value)


def _budgeted_range(*args: int) -> range:
    """`range`, drawing on the rendering's budget of MAX_RANGE items in all."""
    items = range(*args)
    left = _range_left.get()
    if len(items) > left[0]:
        raise TemplateError(f"the loops of one message may run at most {MAX_RANGE:,} times in all")
    left[0] -= len(items)
    return items


def _check_sizes(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_OUTPUT:
            raise TemplateError(f"a width of {value} is larger than a message may be ({MAX_OUTPUT:,})")


def _check_format(text: str) -> None:
    if _WIDE_FORMAT.search(text):
        raise TemplateError("format widths must be written out and below 100000")


def _size_checked(builtin: Callable[..., Any]) -> Callable[..., Any]:
    """A built-in filter whose size arguments (after the value) are bounded."""

    @functools.wraps(builtin)
    def checked(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_sizes(args, kwargs)
        return builtin(value, *args, **kwargs)

    return checked


def _format_checked(builtin: Callable[..., str]) -> Callable[..., str]:
    """The `format` filter (`'%s' % args`), with its widths bounded."""

    @functools.wraps(builtin)
    def checked(value: Any, *args: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            _check_format(value)
        return builtin(value, *args, **kwargs)

    return checked


def _capped(parts: Iterator[str]) -> Iterator[str]:
    size = 0
    for part in parts:
        size += len(part)
        if size > MAX_OUTPUT:
            raise TemplateError(f"the message is longer than {MAX_OUTPUT:,} characters")
        yield part


def _located(error: Exception) -> str:
    """The error's message, after the template line it happened on when Jinja tells us."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    if isinstance(error, TemplateError | jinja2.TemplateError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return f"line {line}: {text}" if line else text
