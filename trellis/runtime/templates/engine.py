"""Compiling and rendering message templates, with money and dates in the tenant's locale.

A template sees the plain data of its context and the helpers below, nothing else, and
Python internals (`''.__class__`, `record.__init__`) are refused (`sandbox.py`).
`StrictUndefined` makes a misspelt name an error rather than a silent blank; None renders as
nothing. Each rendering runs within its budgets (`budget.py`) and its output is capped at
MAX_OUTPUT characters.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from trellis.metadata.templates import MAX_OUTPUT, MAX_SOURCE
from trellis.runtime.templates.budget import rendering
from trellis.runtime.templates.errors import TemplateError, located
from trellis.runtime.templates.filters import budgeted_filters, budgeted_tests
from trellis.runtime.templates.sandbox import Sandbox, budgeted_range, printed

CACHE_SIZE = 256  # compiled templates kept per Templates


class CompiledTemplate:
    """One parsed template, ready to render any number of times (and from any thread)."""

    def __init__(self, source: str, template: jinja2.Template):
        self.source = source
        self._template = template

    def render(self, context: Mapping[str, Any]) -> str:
        """The text, or TemplateError naming the line at fault (a budget spent among them)."""
        with rendering():
            try:
                return "".join(_capped(self._template.generate(dict(context))))
            except Exception as error:
                raise TemplateError(located(error)) from error


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
        self._env = Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, finalize=printed)
        self._env.globals = {"range": budgeted_range, "dict": dict, "namespace": self._env.globals["namespace"],
                             **helpers}
        self._env.filters = budgeted_filters({**helpers, "tojson": json_text})
        self._env.tests = budgeted_tests()
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
        except (RecursionError, SyntaxError) as error:  # nesting deeper than Python compiles
            raise TemplateError(f"the template nests too deeply to compile ({error})") from error

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


def _capped(parts: Iterator[str]) -> Iterator[str]:
    size = 0
    for part in parts:
        size += len(part)
        if size > MAX_OUTPUT:
            raise TemplateError(f"the message is longer than {MAX_OUTPUT:,} characters")
        yield part
