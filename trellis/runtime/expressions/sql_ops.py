"""Operators and comparisons in SQL, with the meaning they have in Python (see operators.py).

Arithmetic keeps money exact where the database can: whole numbers and decimals are added,
subtracted and multiplied exactly on both databases (SQLite: integer minor units). Division is
NUMERIC on PostgreSQL and floating point on SQLite. Division by zero gives NULL (a row whose
formula cannot be computed matches no filter) instead of failing the whole query. Comparisons
never give NULL: `==` is null-safe (blank equals only blank) and `<` with a blank is false.
"""

from __future__ import annotations

import ast
from decimal import Context, Decimal, Inexact
from typing import Any

from sqlalchemy import BigInteger, Boolean, Numeric, String, and_, cast, exists, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Double

from trellis.metadata.expressions import MAX_EXPONENT
from trellis.runtime.expressions.sql_values import (
    BOOL,
    DECIMAL,
    FLOAT,
    INT,
    LIST,
    MAX_SCALE,
    NULL,
    NUMBERS,
    TEXT,
    Refused,
    Sql,
    Target,
)

_OPERATOR_WORDS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
                   ast.Pow: "**"}
SQLITE_MAX_POWER = 8  # x ** n on SQLite is written out as n multiplications
_EXACT = Context(prec=60, traps=[Inexact])


def _nonzero(target: Target, divisor: Sql, expr: ColumnElement[Any]) -> ColumnElement[Any]:
    """NULLIF(divisor, 0) unless the divisor is a non-zero constant."""
    if divisor.is_constant and divisor.constant != 0:
        return expr
    return func.nullif(expr, literal(0, expr.type), type_=expr.type)


def arithmetic(target: Target, op: ast.operator, a: Sql, b: Sql) -> Sql:
    word = _OPERATOR_WORDS.get(type(op))
    if word is None:
        raise Refused(f"uses the operator {type(op).__name__}")
    if a.kind == NULL or b.kind == NULL:
        return target.constant(None)
    if isinstance(op, ast.Add) and a.kind == TEXT and b.kind == TEXT:
        return Sql(a.expr.concat(b.expr), TEXT, nullable=a.nullable or b.nullable)
    if a.kind not in NUMBERS or b.kind not in NUMBERS:
        if isinstance(op, ast.Mult) and TEXT in (a.kind, b.kind):
            raise Refused("repeats text with *")
        raise Refused(f"uses {word} on {a.noun} and {b.noun}")
    nullable = a.nullable or b.nullable
    if isinstance(op, (ast.Add, ast.Sub)):
        kind, scale, (x, y) = target.numbers([a, b])
        return Sql(x + y if isinstance(op, ast.Add) else x - y, kind, scale, nullable)
    if isinstance(op, ast.Mult):
        return _multiply(target, a, b)
    if isinstance(op, ast.Div):
        return _divide(target, a, b)
    if isinstance(op, (ast.FloorDiv, ast.Mod)):
        return _floored(target, op, a, b)
    return _power(target, a, b)


def _multiply(target: Target, a: Sql, b: Sql) -> Sql:
    nullable = a.nullable or b.nullable
    if FLOAT in (a.kind, b.kind):
        return Sql(target.as_float(a) * target.as_float(b), FLOAT, nullable=nullable)
    if DECIMAL in (a.kind, b.kind):
        if not target.sqlite:
            return Sql(target.as_decimal(a, 0) * target.as_decimal(b, 0), DECIMAL, nullable=nullable)
        scale = (a.scale if a.kind == DECIMAL else 0) + (b.scale if b.kind == DECIMAL else 0)
        return Sql(a.expr * b.expr, DECIMAL, scale, nullable)  # minor units times minor units
    return Sql(a.expr * b.expr, INT, nullable=nullable)


def _exact_reciprocal(divisor: Sql) -> Decimal | None:
    """1 / divisor when the divisor is a constant whose reciprocal is a short, terminating
    decimal (100 → 0.01, 4 → 0.25, 0.5 → 2): dividing by it is then an exact multiplication."""
    if not (divisor.is_constant and divisor.kind in (INT, DECIMAL) and divisor.constant != 0):
        return None
    try:
        reciprocal = _EXACT.divide(Decimal(1), Decimal(divisor.constant))
    except Inexact:
        return None
    exponent = reciprocal.as_tuple().exponent
    return reciprocal if isinstance(exponent, int) and -exponent <= MAX_SCALE else None


def _divide(target: Target, a: Sql, b: Sql) -> Sql:
    """Exact (NUMERIC) on PostgreSQL unless a float is involved. SQLite has no exact division:
    by a constant like 100 it multiplies by 0.01 (exact); otherwise it divides in floating point."""
    reciprocal = _exact_reciprocal(b) if target.sqlite and a.kind in (INT, DECIMAL) else None
    if reciprocal is not None:
        return _multiply(target, a, target.decimal(reciprocal))
    if target.sqlite or FLOAT in (a.kind, b.kind):
        x, y = target.as_float(a), target.as_float(b)
        return Sql(x / _nonzero(target, b, y), FLOAT)
    x, y = cast(a.expr, Numeric()), target.as_decimal(b, 0)
    return Sql(x / _nonzero(target, b, y), DECIMAL)


def _floored(target: Target, op: ast.operator, a: Sql, b: Sql) -> Sql:
    """Python's floored // and % for whole numbers: SQL truncates, so the remainder is shifted
    to the divisor's sign first, which makes the division exact."""
    if a.kind != INT or b.kind != INT:
        raise Refused(f"uses {_OPERATOR_WORDS[type(op)]} on numbers that are not whole")
    divisor = _nonzero(target, b, b.expr)
    remainder = ((a.expr % divisor) + b.expr) % divisor
    if isinstance(op, ast.Mod):
        return Sql(remainder, INT)
    return Sql((a.expr - remainder) // divisor, INT)  # exact: the remainder was taken off


def _power(target: Target, a: Sql, b: Sql) -> Sql:
    if not (b.is_constant and b.kind == INT and 0 < b.constant <= MAX_EXPONENT):
        raise Refused(f"uses ** with an exponent other than a whole number from 1 to {MAX_EXPONENT}")
    exponent: int = b.constant
    if target.sqlite:
        if exponent > SQLITE_MAX_POWER:
            raise Refused(f"uses ** with an exponent above {SQLITE_MAX_POWER} (on SQLite)")
        result = a
        for _ in range(exponent - 1):
            result = _multiply(target, result, a)
        return result
    if a.kind == FLOAT:
        return Sql(func.power(a.expr, literal(exponent, Double())), FLOAT, nullable=a.nullable)
    powered = func.power(cast(a.expr, Numeric()), literal(exponent, Numeric()), type_=Numeric())
    if a.kind == INT:
        return Sql(cast(powered, BigInteger()), INT, nullable=a.nullable)
    return Sql(powered, DECIMAL, nullable=a.nullable)


def negate(target: Target, a: Sql, op: ast.unaryop) -> Sql:
    if isinstance(op, ast.Not):
        return Sql(~target.condition(a, "the value after 'not'"), BOOL, nullable=False)
    if a.kind == NULL:
        return a
    if a.kind not in NUMBERS:
        raise Refused(f"puts {'-' if isinstance(op, ast.USub) else '+'} before {a.noun}")
    if isinstance(op, ast.UAdd):
        return a
    negated = target.with_expr(a, -a.expr)
    return negated if not a.is_constant else Sql(negated.expr, a.kind, a.scale, a.nullable, -a.constant)


def _comparable(a: Sql, b: Sql) -> None:
    if NULL in (a.kind, b.kind) or a.kind == b.kind or (a.kind in NUMBERS and b.kind in NUMBERS):
        return
    raise Refused(f"compares {a.noun} with {b.noun}")


def _pair(target: Target, a: Sql, b: Sql, ordered: bool) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    if a.kind in NUMBERS and b.kind in NUMBERS:
        _, _, (x, y) = target.numbers([a, b])
        return x, y
    if ordered and TEXT in (a.kind, b.kind) and not target.sqlite:
        return a.expr.collate("C"), b.expr.collate("C")  # code-point order, as in Python
    return a.expr, b.expr


def equal(target: Target, a: Sql, b: Sql, negated: bool = False) -> Sql:
    """Null-safe equality: blank equals blank and nothing else."""
    _comparable(a, b)
    if a.kind == NULL and b.kind == NULL:
        return Sql(false() if negated else true(), BOOL, nullable=False)
    if LIST in (a.kind, b.kind):
        raise Refused("compares lists")
    if b.kind == NULL or a.kind == NULL:
        value = a if b.kind == NULL else b
        return Sql(value.expr.is_not(None) if negated else value.expr.is_(None), BOOL, nullable=False)
    x, y = _pair(target, a, b, ordered=False)
    return Sql(x.is_distinct_from(y) if negated else x.is_not_distinct_from(y), BOOL, nullable=False)


_ORDERINGS = {ast.Lt: "__lt__", ast.LtE: "__le__", ast.Gt: "__gt__", ast.GtE: "__ge__"}


def compare(target: Target, op: ast.cmpop, a: Sql, b: Sql) -> Sql:
    if isinstance(op, (ast.Eq, ast.NotEq)):
        return equal(target, a, b, negated=isinstance(op, ast.NotEq))
    method = _ORDERINGS.get(type(op))
    if method is None:
        raise Refused(f"uses the comparison {type(op).__name__}")
    _comparable(a, b)
    if NULL in (a.kind, b.kind):
        return Sql(false(), BOOL, nullable=False)
    if LIST in (a.kind, b.kind):
        raise Refused("compares lists with < or >")
    x, y = _pair(target, a, b, ordered=True)
    result = getattr(x, method)(y)
    if a.nullable or b.nullable:
        result = func.coalesce(result, false(), type_=Boolean())
    return Sql(result, BOOL, nullable=False)


def text_contains(target: Target, haystack: Sql, needle: Sql, function: str) -> Sql:
    """`needle` occurs in the text `haystack`; false when either is blank."""
    if NULL in (haystack.kind, needle.kind):
        return Sql(false(), BOOL, nullable=False)
    if haystack.kind != TEXT or needle.kind != TEXT:
        raise Refused(f"uses {function} with {haystack.noun} and {needle.noun}")
    position = func.instr(haystack.expr, needle.expr) if target.sqlite else func.strpos(haystack.expr, needle.expr)
    return Sql(func.coalesce(position > 0, false(), type_=Boolean()), BOOL, nullable=False)


def list_contains(target: Target, items: Sql, needle: Sql, function: str) -> Sql:
    """A multi-select value (a JSON array of texts) holds `needle`."""
    if needle.kind == NULL:
        return Sql(false(), BOOL, nullable=False)
    if needle.kind != TEXT:
        raise Refused(f"uses {function} to look for {needle.noun} in a list of choices")
    if not target.sqlite:
        held = cast(items.expr, JSONB).op("?", return_type=Boolean())(cast(needle.expr, String()))
        return Sql(func.coalesce(held, false(), type_=Boolean()), BOOL, nullable=False)
    elements = func.json_each(items.expr).table_valued("value")
    return Sql(exists(select(literal(1)).select_from(elements).where(elements.c.value == needle.expr)), BOOL,
               nullable=False)


def member(target: Target, item: Sql, container: Sql | list[Sql]) -> Sql:
    """`item in container`: a literal list, a multi-select value or a text."""
    if isinstance(container, list):
        if not container:
            return Sql(false(), BOOL, nullable=False)
        return Sql(or_(*(equal(target, item, element).expr for element in container)), BOOL, nullable=False)
    if container.kind == NULL:
        return Sql(false(), BOOL, nullable=False)
    if container.kind == LIST:
        return list_contains(target, container, item, "in")
    if container.kind == TEXT:
        return text_contains(target, container, item, "in")
    raise Refused(f"uses 'in' with {container.noun} on its right")


def both(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(*conditions) if len(conditions) > 1 else conditions[0]
