"""Value conversions for fields whose storage type changes between releases.

Only the numeric family converts (integer, number, currency, percent); every other change keeps
the old values aside and starts the new column empty. A conversion is *widening* when no value
can lose digits; widening changes apply without `--allow-destructive`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Double, Numeric, cast, func
from sqlalchemy.sql.elements import ColumnElement

_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
NUMERIC_TYPES = ("bigint", "double")


def _decimal(storage: str) -> tuple[int, int] | None:
    match = _DECIMAL.match(storage)
    return (int(match[1]), int(match[2])) if match else None


def _power_of_ten(exponent: int) -> int:
    """10 ** exponent for a scale (never negative), typed: `int ** int` is Any to mypy."""
    return int(10 ** exponent)


def is_numeric(storage: str) -> bool:
    return storage in NUMERIC_TYPES or _decimal(storage) is not None


@dataclass(frozen=True)
class Converter:
    source: str
    target: str

    @property
    def widening(self) -> bool:
        src, dst = _decimal(self.source), _decimal(self.target)
        if self.source == "bigint":  # 64-bit integers have up to 19 digits
            return self.target == "double" or (dst is not None and dst[0] - dst[1] >= 19)
        if src and dst:
            return dst[1] >= src[1] and dst[0] - dst[1] >= src[0] - src[1]
        return False

    def describe(self) -> str:
        return "exactly" if self.widening else "rounded where needed"

    def expression(self, old: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
        src, dst = _decimal(self.source), _decimal(self.target)
        if dialect == "sqlite" and src and dst and dst[1] >= src[1]:
            return old * _power_of_ten(dst[1] - src[1])  # minor units to finer minor units, exact
        return stored_as(as_value(old, self.source, dialect), self.target, dialect)


def as_value(stored: ColumnElement[Any], storage: str, dialect: str) -> ColumnElement[Any]:
    """A numeric column as the number it means (SQLite keeps decimals as integer minor units)."""
    scale = _decimal(storage)
    if dialect == "sqlite" and scale:
        return stored * 1.0 / _power_of_ten(scale[1])
    return stored


def stored_as(value: ColumnElement[Any], storage: str, dialect: str) -> ColumnElement[Any]:
    """A number as a column of `storage` type holds it (rounded where the type is coarser)."""
    if storage == "bigint":
        return cast(func.round(value), BigInteger)
    if storage == "double":
        return cast(value, Double)
    target = _decimal(storage)
    assert target is not None, f"not a numeric storage type: {storage}"
    if dialect == "sqlite":
        return cast(func.round(value * _power_of_ten(target[1])), BigInteger)
    return cast(value, Numeric(target[0], target[1]))


def converter_for(source: str, target: str) -> Converter | None:
    if is_numeric(source) and is_numeric(target) and source != target:
        return Converter(source, target)
    return None
