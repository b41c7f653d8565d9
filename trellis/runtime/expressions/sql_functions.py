"""The function library in SQL: each entry takes the translated arguments and gives one `Sql`.

A function missing here cannot run in the database; the translator says so by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import BigInteger, Boolean, Numeric, case, cast, false, func, literal, or_, true, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Double

from trellis.metadata.expressions import DATE_UNITS
from trellis.runtime.expressions import sql_time
from trellis.runtime.expressions.sql_ops import list_contains, text_contains
from trellis.runtime.expressions.sql_values import (
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    FLOAT,
    INT,
    LIST,
    NULL,
    NUMBERS,
    TEXT,
    Refused,
    Sql,
    Target,
)
from trellis.runtime.expressions.values import MAX_DIGITS

SqlFunction = Callable[[Target, list[Sql]], Sql]


def _expect(function: str, value: Sql, kinds: frozenset[str] | set[str], what: str) -> None:
    if value.kind != NULL and value.kind not in kinds:
        raise Refused(f"uses {function} on {value.noun} (it expects {what})")


def _null_in(*values: Sql) -> bool:
    return any(v.kind == NULL for v in values)


def today(target: Target, args: list[Sql]) -> Sql:
    return Sql(literal(target.ctx.today, target.result_type(DATE, 0)), DATE, nullable=False)


def now(target: Target, args: list[Sql]) -> Sql:
    return Sql(literal(target.ctx.now, target.result_type(DATETIME, 0)), DATETIME, nullable=False)


def days_between(target: Target, args: list[Sql]) -> Sql:
    a, b = (sql_time.local_date(target, v, "days_between") for v in args)
    if _null_in(a, b):
        return target.constant(None)
    return Sql(sql_time.days_between(target, a, b), INT)


def _date_and_count(function: str, target: Target, args: list[Sql]) -> tuple[Sql, Sql] | None:
    d, n = sql_time.local_date(target, args[0], function), args[1]
    _expect(function, n, {INT}, "a whole number")
    return None if _null_in(d, n) else (d, n)


def add_days(target: Target, args: list[Sql]) -> Sql:
    pair = _date_and_count("add_days", target, args)
    return target.constant(None) if pair is None else Sql(sql_time.add_days(target, pair[0], pair[1].expr), DATE)


def add_months(target: Target, args: list[Sql]) -> Sql:
    pair = _date_and_count("add_months", target, args)
    return target.constant(None) if pair is None else Sql(sql_time.add_months(target, pair[0], pair[1].expr), DATE)


def _part(unit: str) -> SqlFunction:
    def part(target: Target, args: list[Sql]) -> Sql:
        d = sql_time.local_date(target, args[0], unit)
        return target.constant(None) if d.kind == NULL else Sql(sql_time.part(target, d, unit), INT)
    return part


def date_trunc(target: Target, args: list[Sql]) -> Sql:
    unit = args[0]
    if not (unit.is_constant and unit.constant in DATE_UNITS):
        raise Refused(f"uses date_trunc with a unit that is not one of {', '.join(DATE_UNITS)} written out")
    d = sql_time.local_date(target, args[1], "date_trunc")
    return target.constant(None) if d.kind == NULL else Sql(sql_time.truncate(target, d, unit.constant), DATE)


def coalesce(target: Target, args: list[Sql]) -> Sql:
    kind, scale, exprs = target.unify(args, "coalesce")
    if kind == NULL:
        return target.constant(None)
    nullable = all(a.nullable for a in args)
    return Sql(func.coalesce(*exprs, type_=target.internal_type(kind, scale)), kind, scale, nullable)


def is_blank(target: Target, args: list[Sql]) -> Sql:
    x = args[0]
    if x.kind == NULL:
        return Sql(true(), BOOL, nullable=False)
    if x.kind == TEXT:
        return Sql(or_(x.expr.is_(None), x.expr == ""), BOOL, nullable=False)
    if x.kind == LIST:
        return Sql(func.coalesce(_list_length(target, x), literal(0, BigInteger())) == 0, BOOL, nullable=False)
    return Sql(x.expr.is_(None), BOOL, nullable=False)


def if_(target: Target, args: list[Sql]) -> Sql:
    return choose(target, target.condition(args[0], "the condition of if_"), args[1], args[2], "if_")


def choose(target: Target, condition: ColumnElement[bool], a: Sql, b: Sql, what: str) -> Sql:
    kind, scale, (x, y) = target.unify([a, b], what)
    if kind == NULL:
        return target.constant(None)
    chosen = type_coerce(case((condition, x), else_=y), target.internal_type(kind, scale))
    return Sql(chosen, kind, scale, a.nullable or b.nullable)


def round_(target: Target, args: list[Sql]) -> Sql:
    x = args[0]
    digits = args[1] if len(args) > 1 else target.constant(0)
    if not (digits.is_constant and digits.kind == INT and abs(digits.constant) <= MAX_DIGITS):
        raise Refused(f"uses round with decimal places that are not a whole number from -{MAX_DIGITS} to "
                      f"{MAX_DIGITS} written out")
    _expect("round", x, NUMBERS, "a number")
    places: int = digits.constant
    if x.kind == NULL:
        return x
    if x.kind == FLOAT:
        if target.sqlite:
            if places < 0:
                raise Refused("rounds a floating-point number to tens or more (on SQLite)")
            return target.with_expr(x, func.round(x.expr, target.small_int(places), type_=Double()))
        exact = func.round(cast(x.expr, Numeric()), target.small_int(places))
        return target.with_expr(x, cast(exact, Double()))
    if x.kind == INT and places >= 0:
        return x
    if not target.sqlite:
        rounded = func.round(cast(x.expr, Numeric()), target.small_int(places), type_=Numeric())
        return Sql(cast(rounded, BigInteger()), INT) if x.kind == INT else Sql(rounded, DECIMAL)
    return _round_minor_units(target, x, places)


def _round_minor_units(target: Target, x: Sql, places: int) -> Sql:
    """Half away from zero on SQLite's integer minor units: (v ± step/2) / step, truncated."""
    scale = x.scale if x.kind == DECIMAL else 0
    if places >= scale:
        return x
    step = 10 ** (scale - places)
    half = case((x.expr < literal(0, BigInteger()), literal(-(step // 2), BigInteger())), else_=literal(step // 2, BigInteger()))
    whole_steps = (x.expr + half) // literal(step, BigInteger())
    if places >= 0:
        return Sql(whole_steps, x.kind, places if x.kind == DECIMAL else 0)
    return Sql(whole_steps * literal(10 ** (-places), BigInteger()), x.kind, 0)


def _extreme(name: str, pick: str) -> SqlFunction:
    """min / max skipping blanks: PostgreSQL's LEAST/GREATEST do; SQLite's multi-argument
    min/max give NULL if any argument is NULL, so each argument is padded with the others."""
    def extreme(target: Target, args: list[Sql]) -> Sql:
        kind, scale, exprs = target.unify(args, name)
        if kind == LIST:
            raise Refused(f"uses {name} on lists")
        present = [e for e, a in zip(exprs, args, strict=True) if a.kind != NULL]
        if not present:
            return target.constant(None)
        if len(present) == 1:
            return Sql(present[0], kind, scale)
        if kind == TEXT and not target.sqlite:
            present = [e.collate("C") for e in present]
        result_type = target.internal_type(kind, scale)
        if not target.sqlite:
            return Sql(getattr(func, pick)(*present, type_=result_type), kind, scale)
        padded = [func.coalesce(e, *(o for o in present if o is not e)) for e in present]
        return Sql(getattr(func, name)(*padded, type_=result_type), kind, scale)
    return extreme


def abs_(target: Target, args: list[Sql]) -> Sql:
    x = args[0]
    _expect("abs", x, NUMBERS, "a number")
    return x if x.kind == NULL else target.with_expr(x, func.abs(x.expr))


def _list_length(target: Target, x: Sql) -> ColumnElement[Any]:
    """Items of a multi-select value; NULL for SQL NULL and for JSON `null` (how a JSON column
    stores Python None), as len() of a blank is blank."""
    if target.sqlite:
        return case((func.json_type(x.expr) == "array", func.json_array_length(x.expr)))
    return case((func.jsonb_typeof(x.expr) == "array", func.jsonb_array_length(x.expr)))


def len_(target: Target, args: list[Sql]) -> Sql:
    x = args[0]
    _expect("len", x, {TEXT, LIST}, "text or a list")
    if x.kind == NULL:
        return x
    length = _list_length(target, x) if x.kind == LIST else func.length(x.expr)
    return Sql(cast(length, BigInteger()), INT)


def _case(name: str) -> SqlFunction:
    def change_case(target: Target, args: list[Sql]) -> Sql:
        x = args[0]
        _expect(name, x, {TEXT}, "text")
        return x if x.kind == NULL else target.with_expr(x, getattr(func, name)(x.expr))
    return change_case


def contains(target: Target, args: list[Sql]) -> Sql:
    haystack, needle = args
    if haystack.kind == LIST:
        return list_contains(target, haystack, needle, "contains")
    return text_contains(target, haystack, needle, "contains")


def starts_with(target: Target, args: list[Sql]) -> Sql:
    s, prefix = args
    if _null_in(s, prefix):
        return Sql(false(), BOOL, nullable=False)
    _expect("starts_with", s, {TEXT}, "text")
    _expect("starts_with", prefix, {TEXT}, "text")
    head = func.substr(s.expr, target.small_int(1), func.length(prefix.expr))
    return Sql(func.coalesce(head == prefix.expr, false(), type_=Boolean()), BOOL, nullable=False)


#: Functions the database can compute; the others make a formula Python-only.
SQL_FUNCTIONS: Mapping[str, SqlFunction] = MappingProxyType({
    "today": today,
    "now": now,
    "days_between": days_between,
    "add_days": add_days,
    "add_months": add_months,
    "year": _part("year"),
    "month": _part("month"),
    "day": _part("day"),
    "date_trunc": date_trunc,
    "coalesce": coalesce,
    "is_blank": is_blank,
    "if_": if_,
    "round": round_,
    "min": _extreme("min", "least"),
    "max": _extreme("max", "greatest"),
    "abs": abs_,
    "len": len_,
    "lower": _case("lower"),
    "upper": _case("upper"),
    "contains": contains,
    "starts_with": starts_with,
})
