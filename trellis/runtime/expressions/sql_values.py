"""Typed SQL values: what a translated sub-expression is, and how it is stored.

The translator keeps, for every sub-expression, its kind (int, float, decimal, text, bool, date,
datetime, list, null) and, on SQLite, the scale of a decimal: SQLite holds currency and percent
as integer minor units (`ExactDecimal`), so `amount` with scale 2 is `amount_cents`, and
arithmetic on decimals stays exact integer arithmetic with the scale tracked here. PostgreSQL
works on NUMERIC directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Float,
    Integer,
    Numeric,
    String,
    cast,
    false,
    func,
    literal,
    null,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from trellis.metadata.model import FieldDef, FieldType
from trellis.platform.sqltypes import ExactDecimal, UtcDateTime
from trellis.runtime.expressions.context import EvaluationContext

INT, FLOAT, DECIMAL, TEXT, BOOL, DATE, DATETIME, LIST, NULL = (
    "int", "float", "decimal", "text", "bool", "date", "datetime", "list", "null")
NUMBERS = frozenset({INT, FLOAT, DECIMAL})
MAX_SCALE = 18  # decimal places an exact SQLite decimal may carry (int64 minor units)
MAX_BIGINT = 2**63 - 1

_NOUNS = {INT: "a number", FLOAT: "a number", DECIMAL: "a number", TEXT: "text", BOOL: "yes/no",
          DATE: "a date", DATETIME: "a date-time", LIST: "a list", NULL: "blank"}
_FIELD_KINDS = {
    FieldType.INTEGER: INT, FieldType.NUMBER: FLOAT, FieldType.CURRENCY: DECIMAL, FieldType.PERCENT: DECIMAL,
    FieldType.BOOLEAN: BOOL, FieldType.DATE: DATE, FieldType.DATETIME: DATETIME, FieldType.MULTI_ENUM: LIST,
}


class NotExpressibleInSQL(Exception):
    """A formula (or part of one) the database cannot compute; `reason` is a sentence."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class Refused(Exception):
    """Raised inside the translator with the end of a sentence ("uses add_months with ...");
    `to_sql` turns it into a `NotExpressibleInSQL` naming the formula."""

    def __init__(self, predicate: str):
        self.predicate = predicate
        super().__init__(predicate)


_NO_CONSTANT = object()


@dataclass(frozen=True)
class Sql:
    """One translated sub-expression."""

    expr: ColumnElement[Any]
    kind: str
    scale: int = 0  # DECIMAL on SQLite: `expr` is the value times 10**scale, a whole number
    nullable: bool = True
    constant: Any = _NO_CONSTANT  # the Python value, when the sub-expression is a literal

    @property
    def is_constant(self) -> bool:
        return self.constant is not _NO_CONSTANT

    @property
    def noun(self) -> str:
        return _NOUNS[self.kind]


def noun(kind: str) -> str:
    return _NOUNS[kind]


def kind_of_type(sql_type: TypeEngine[Any], field: FieldDef | None) -> tuple[str, int]:
    """(kind, scale) of a column from its SQL type, so that a stored column and the output of
    an earlier `to_sql` (a live formula) are read alike; the field's type is the fallback."""
    if isinstance(sql_type, ExactDecimal):
        return DECIMAL, sql_type.scale
    if isinstance(sql_type, UtcDateTime):
        return DATETIME, 0
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    checks: tuple[tuple[type, str], ...] = (
        (Boolean, BOOL), (Float, FLOAT), (Integer, INT), (Numeric, DECIMAL), (DateTime, DATETIME),
        (Date, DATE), (JSON, LIST), (String, TEXT))
    for python_type, kind in checks:
        if isinstance(sql_type, python_type):
            return kind, (sql_type.scale or 0) if kind == DECIMAL and isinstance(sql_type, Numeric) else 0
    if field is not None:
        return _FIELD_KINDS.get(field.type, TEXT), field.scale or 0
    return NULL, 0


class Target:
    """The dialect and clock a translation is for: literals, conversions and result types."""

    def __init__(self, dialect: str, ctx: EvaluationContext):
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.dialect = dialect
        self.sqlite = dialect == "sqlite"
        self.ctx = ctx

    # -- reading columns and literals ------------------------------------------------------

    def column(self, element: ColumnElement[Any], field: FieldDef | None) -> Sql:
        kind, scale = kind_of_type(element.type, field)
        if kind == DECIMAL:  # plain integers / numerics: ExactDecimal would re-scale bound literals
            element = type_coerce(element, BigInteger() if self.sqlite else Numeric())
        return Sql(element, kind, scale)

    def constant(self, value: Any) -> Sql:
        if value is None:
            return Sql(null(), NULL, constant=None)
        if isinstance(value, bool):
            return Sql(true() if value else false(), BOOL, nullable=False, constant=value)
        if isinstance(value, int):
            if abs(value) > MAX_BIGINT:
                raise Refused(f"uses the number {value} (too large for the database)")
            return Sql(literal(value, BigInteger()), INT, nullable=False, constant=value)
        if isinstance(value, Decimal):
            return self.decimal(value)
        if isinstance(value, str):
            return Sql(literal(value, String()), TEXT, nullable=False, constant=value)
        raise Refused(f"uses the constant {value!r}")

    def decimal(self, value: Decimal) -> Sql:
        exponent = value.as_tuple().exponent
        scale = max(0, -exponent) if isinstance(exponent, int) else 0
        if not self.sqlite:
            return Sql(literal(value, Numeric()), DECIMAL, scale, nullable=False, constant=value)
        if scale > MAX_SCALE or abs(value.scaleb(scale)) > MAX_BIGINT:
            raise Refused(f"uses the number {value} (too many digits for the database)")
        return Sql(literal(int(value.scaleb(scale)), BigInteger()), DECIMAL, scale, nullable=False, constant=value)

    def small_int(self, value: int) -> ColumnElement[Any]:
        """A whole number as an SQL INTEGER (PostgreSQL's functions want int4, not bigint)."""
        return literal(value, Integer())

    # -- numbers ---------------------------------------------------------------------------

    def as_float(self, value: Sql) -> ColumnElement[Any]:
        if value.kind == FLOAT:
            return value.expr
        real = cast(value.expr, Double() if not self.sqlite else Float())
        if self.sqlite and value.kind == DECIMAL and value.scale:
            return real / literal(10**value.scale, BigInteger())
        return real

    def as_decimal(self, value: Sql, scale: int) -> ColumnElement[Any]:
        """A whole or decimal value as a decimal; on SQLite as minor units at `scale`."""
        if not self.sqlite:
            return cast(value.expr, Numeric()) if value.kind == INT else value.expr
        shift = scale - (value.scale if value.kind == DECIMAL else 0)
        return value.expr * literal(10**shift, BigInteger()) if shift else value.expr

    def numbers(self, values: list[Sql]) -> tuple[str, int, list[ColumnElement[Any]]]:
        """Numbers brought to one representation: float if any is a float, else decimal if any
        is a decimal (SQLite: at the largest scale), else whole."""
        kinds = {v.kind for v in values if v.kind != NULL}
        if FLOAT in kinds:
            return FLOAT, 0, [v.expr if v.kind == NULL else self.as_float(v) for v in values]
        if DECIMAL in kinds:
            scale = max(v.scale for v in values if v.kind == DECIMAL)
            return DECIMAL, scale, [v.expr if v.kind == NULL else self.as_decimal(v, scale) for v in values]
        return INT, 0, [v.expr for v in values]

    def unify(self, values: list[Sql], what: str) -> tuple[str, int, list[ColumnElement[Any]]]:
        """Values that may be returned in one place (if_, coalesce, min, max) brought to one kind."""
        kinds = {v.kind for v in values} - {NULL}
        if not kinds:
            return NULL, 0, [v.expr for v in values]
        if kinds <= NUMBERS:
            return self.numbers(values)
        if len(kinds) > 1:
            nouns = " and ".join(sorted({noun(k) for k in kinds}))
            raise Refused(f"uses {what} with values of different kinds ({nouns})")
        return kinds.pop(), 0, [v.expr for v in values]

    # -- results ---------------------------------------------------------------------------

    def result_type(self, kind: str, scale: int) -> TypeEngine[Any]:
        if kind == DECIMAL:
            return ExactDecimal(38, scale) if self.sqlite else Numeric(asdecimal=True)
        types: dict[str, TypeEngine[Any]] = {
            INT: BigInteger(), FLOAT: Double(), TEXT: String(), BOOL: Boolean(), DATE: Date(),
            DATETIME: UtcDateTime(), LIST: JSON().with_variant(JSONB(), "postgresql"),
        }
        return types.get(kind) or String()

    def internal_type(self, kind: str, scale: int) -> TypeEngine[Any]:
        """The type of a sub-expression inside the translation: decimals as plain integers
        (SQLite minor units) or NUMERIC, so no bound value is ever re-scaled by ExactDecimal."""
        if kind == DECIMAL:
            return BigInteger() if self.sqlite else Numeric()
        return self.result_type(kind, scale)

    def finish(self, value: Sql) -> ColumnElement[Any]:
        """The expression typed so that selecting it gives Python values of the formula's kind
        (Decimal, date, aware datetime, bool), and comparing it with a bound value stores that
        value the same way (minor units on SQLite)."""
        if value.kind == NULL:
            return null()
        return type_coerce(value.expr, self.result_type(value.kind, value.scale))

    def with_expr(self, value: Sql, expr: ColumnElement[Any], **changes: Any) -> Sql:
        return replace(value, expr=expr, constant=_NO_CONSTANT, **changes)

    def condition(self, value: Sql, what: str) -> ColumnElement[bool]:
        """A yes/no value as an SQL condition that is never NULL (blank counts as no)."""
        if value.kind == NULL:
            return false()
        if value.kind != BOOL:
            raise Refused(f"uses {value.noun} as {what} (a condition must be yes/no)")
        return func.coalesce(value.expr, false()) if value.nullable else value.expr
