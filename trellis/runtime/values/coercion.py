"""Input values → the Python values a field stores, and back to JSON for validation and output.

Input arrives as JSON (API) or text (CSV import). Each field type accepts its JSON form and an
unambiguous text form; anything else is refused with a sentence naming what was expected. Money
is never routed through binary floats: a JSON number becomes a Decimal via its text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from trellis.metadata.model import FieldDef, FieldType

_TRUE = {"true", "1", "yes", "y", "是", "真"}
_FALSE = {"false", "0", "no", "n", "否", "假"}
_STRINGS = {FieldType.STRING, FieldType.TEXT}
_SPLIT = re.compile(r"[;；]")


class CoercionError(ValueError):
    """The value cannot be read as the field's type; the message says what was expected."""


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float, Decimal)):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "…"
        return f"text '{shown}'"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def coerce(field: FieldDef, value: Any, tz: ZoneInfo) -> Any:
    """The stored form of `value` for `field`; None stays None, blank text becomes None except
    for plain text fields."""
    return coercer(field)(value, tz)


def coercer(field: FieldDef) -> Callable[[Any, ZoneInfo], Any]:
    """`coerce` for one field, resolved once: bulk writes call it for every cell."""
    convert = _COERCERS[field.type]
    blank_is_none = field.type not in _STRINGS

    def run(value: Any, tz: ZoneInfo) -> Any:
        if value is None:
            return None
        if blank_is_none and isinstance(value, str) and not value.strip():
            return None
        try:
            return convert(field, value, tz)
        except CoercionError:
            raise
        except (ValueError, TypeError, InvalidOperation, OverflowError):
            raise CoercionError(_expected(field) + f", got {_describe(value)}") from None

    return run


def _expected(field: FieldDef) -> str:
    return {
        FieldType.INTEGER: "expected a whole number",
        FieldType.NUMBER: "expected a number",
        FieldType.CURRENCY: f"expected an amount with at most {field.scale} decimal places",
        FieldType.PERCENT: f"expected a percentage with at most {field.scale} decimal places",
        FieldType.BOOLEAN: "expected true or false",
        FieldType.DATE: "expected a date as YYYY-MM-DD",
        FieldType.DATETIME: "expected a date-time as YYYY-MM-DDTHH:MM[:SS][+08:00]",
        FieldType.MULTI_ENUM: "expected a list of choices",
    }.get(field.type, "expected text")


def _text(field: FieldDef, value: Any, tz: ZoneInfo) -> str:
    if not isinstance(value, str):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return value if field.type in _STRINGS else value.strip()


def _integer(field: FieldDef, value: Any, tz: ZoneInfo) -> int:
    if isinstance(value, bool):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    if isinstance(value, int):
        return value
    number = Decimal(value.strip() if isinstance(value, str) else str(value))
    if number != number.to_integral_value():
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return int(number)


def _number(field: FieldDef, value: Any, tz: ZoneInfo) -> float:
    if isinstance(value, bool):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    result = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(result):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return result


def rounded(field: FieldDef, number: Decimal | float | int) -> Decimal:
    """A computed amount (a formula's result, an average) at the field's scale, half up: what the
    field would store. Input is never rounded silently (see `_decimal`); computed values must be."""
    quantum = Decimal(1).scaleb(-(field.scale or 0))
    return Decimal(str(number) if isinstance(number, float) else number).quantize(quantum, rounding=ROUND_HALF_UP)


def _decimal(field: FieldDef, value: Any, tz: ZoneInfo) -> Decimal:
    if isinstance(value, bool):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    text = value.strip().replace(",", "").lstrip("¥￥$") if isinstance(value, str) else str(value)
    number = Decimal(text)
    if not number.is_finite():
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    quantum = Decimal(1).scaleb(-(field.scale or 0))
    if number.quantize(quantum) != number:  # never round money silently
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return number.quantize(quantum)


def _boolean(field: FieldDef, value: Any, tz: ZoneInfo) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise CoercionError(f"{_expected(field)}, got {_describe(value)}")


def _date(field: FieldDef, value: Any, tz: ZoneInfo) -> date:
    if isinstance(value, datetime):
        raise CoercionError(f"{_expected(field)}, got a date-time")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return date.fromisoformat(value.strip().replace("/", "-"))


def _datetime(field: FieldDef, value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0))
    elif isinstance(value, str):
        text = value.strip()
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    else:
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # a wall-clock time in the tenant's zone
    return parsed.astimezone(UTC)


def _multi(field: FieldDef, value: Any, tz: ZoneInfo) -> list[str]:
    items = [v.strip() for v in _SPLIT.split(value) if v.strip()] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise CoercionError(f"{_expected(field)}, got {_describe(value)}")
    return list(items)


_COERCERS = {
    FieldType.STRING: _text,
    FieldType.TEXT: _text,
    FieldType.EMAIL: _text,
    FieldType.PHONE: _text,
    FieldType.URL: _text,
    FieldType.ENUM: _text,
    FieldType.LOOKUP: _text,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.CURRENCY: _decimal,
    FieldType.PERCENT: _decimal,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.MULTI_ENUM: _multi,
}


def to_json(value: Any) -> Any:
    """The JSON form of a stored value: ISO dates, ISO UTC date-times, Decimals as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def for_validation(value: Any) -> Any:
    """The form JSON Schema checks: dates as ISO text (`format`), Decimals stay numbers."""
    if isinstance(value, (datetime, date)):
        return to_json(value)
    return value
