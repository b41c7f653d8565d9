"""Evaluating formulas in Python: every library function, money, time zones, lookups, blanks,
readable errors and thread safety."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from trellis.metadata.expressions import FUNCTIONS, ExpressionError
from trellis.runtime.expressions import (
    EvaluationContext,
    EvaluationError,
    compile_expression,
    evaluate,
)
from trellis.runtime.expressions.functions import LIBRARY

SHANGHAI = ZoneInfo("Asia/Shanghai")
CTX = EvaluationContext(SHANGHAI, datetime(2026, 3, 1, 17, 0, tzinfo=UTC))  # 2026-03-02 01:00 in Shanghai


def ev(source: str, related: dict[str, Any] | None = None, ctx: EvaluationContext = CTX, **record: Any) -> Any:
    return evaluate(compile_expression(source), record, related or {}, ctx)


def error(source: str, **record: Any) -> str:
    with pytest.raises(EvaluationError) as caught:
        ev(source, **record)
    return caught.value.message


def same(a: Any, b: Any) -> bool:
    """Equal values of the same type (Decimal('3') and 3 are equal but not the same)."""
    return type(a) is type(b) and a == b


def test_the_runtime_implements_exactly_the_documented_library():
    assert LIBRARY.keys() == FUNCTIONS.keys()


def test_compile_once_keeps_source_tree_and_what_the_formula_reads():
    compiled = compile_expression("days_between(today(), end_date) + account.tier_days")
    assert compiled.source.startswith("days_between")
    assert compiled.names == {"end_date"}
    assert compiled.attributes == {("account", "tier_days")}
    assert compiled.lookups == {"account"}
    assert compiled.functions == {"days_between", "today"}
    assert compiled.volatile
    assert not compile_expression("quantity * unit_price").volatile
    with pytest.raises(ExpressionError):
        compile_expression("__import__('os')")


# -- money --------------------------------------------------------------------------------


def test_decimals_add_exactly():
    assert ev("a + b", a=Decimal("0.1"), b=Decimal("0.2")) == Decimal("0.3")
    assert ev("a + b == 0.3", a=Decimal("0.1"), b=Decimal("0.2")) is True


def test_decimal_literals_are_exact_too():
    assert same(ev("0.1 + 0.2"), Decimal("0.3"))
    assert same(ev("amount * 0.5", amount=Decimal("19.99")), Decimal("9.995"))


def test_quantity_times_unit_price_is_an_exact_decimal():
    assert same(ev("quantity * unit_price", quantity=3, unit_price=Decimal("19.99")), Decimal("59.97"))
    assert same(ev("quantity * unit_price", quantity=7, unit_price=Decimal("0.10")), Decimal("0.70"))


def test_floats_meeting_decimals_go_through_their_text():
    assert same(ev("score + amount", score=0.1, amount=Decimal("0.2")), Decimal("0.3"))


@pytest.mark.parametrize(("source", "expected"), [
    ("7 / 2", Decimal("3.5")),
    ("6 / 3", Decimal("2")),
    ("1 / 3", Decimal("0.3333333333333333333333333333")),
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("-7 % 3", 2),
    ("7 % -3", -2),
    ("2 ** 10", 1024),
    ("2 ** -2", Decimal("0.25")),
])
def test_whole_number_arithmetic(source: str, expected: Any):
    assert same(ev(source), expected)


def test_decimal_floor_division_and_remainder_floor_like_whole_numbers():
    assert same(ev("x // 2", x=Decimal("-7.5")), Decimal("-4"))
    assert same(ev("x % 2", x=Decimal("-7.5")), Decimal("0.5"))


def test_floats_stay_floats():
    assert same(ev("score * 2", score=1.25), 2.5)
    assert same(ev("score / 2", score=5.0), 2.5)


# -- functions, one by one -----------------------------------------------------------------


def test_today_and_now_are_in_the_tenant_time_zone():
    assert ev("today()") == date(2026, 3, 2)  # 17:00 UTC on 1 March is already 2 March in Shanghai
    assert ev("now()") == datetime(2026, 3, 2, 1, 0, tzinfo=SHANGHAI)
    utc = EvaluationContext(ZoneInfo("UTC"), CTX.now)
    assert ev("today()", ctx=utc) == date(2026, 3, 1)


def test_today_is_stable_within_one_context():
    ctx = EvaluationContext.current("Asia/Shanghai")
    assert ev("today()", ctx=ctx) == ev("today()", ctx=ctx) == ctx.today


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        EvaluationContext(SHANGHAI, datetime(2026, 1, 1))


def test_days_between():
    assert ev("days_between(today(), end_date)", end_date=date(2026, 3, 31)) == 29
    assert ev("days_between(a, b)", a=date(2024, 2, 28), b=date(2024, 3, 1)) == 2  # leap year
    assert ev("days_between(a, b)", a=date(2026, 3, 1), b=date(2026, 2, 1)) == -28
    assert ev("days_between(a, b)", a=None, b=date(2026, 2, 1)) is None


def test_days_between_reads_date_times_in_the_tenant_zone():
    late_evening_utc = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai
    assert ev("days_between(signed_at, today())", signed_at=late_evening_utc) == 0
    assert ev("days_between(signed_at, d)", signed_at=late_evening_utc, d=date(2026, 3, 3)) == 1


def test_add_days():
    assert ev("add_days(d, 30)", d=date(2026, 1, 31)) == date(2026, 3, 2)
    assert ev("add_days(d, -1)", d=date(2024, 3, 1)) == date(2024, 2, 29)
    assert ev("add_days(d, n)", d=date(2026, 1, 1), n=None) is None
    assert ev("add_days(now(), 1)") == date(2026, 3, 3)


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 5, 15), -17, date(2024, 12, 15)),
    (date(2026, 12, 31), 1, date(2027, 1, 31)),
])
def test_add_months_keeps_the_day_within_the_target_month(start: date, months: int, expected: date):
    assert ev("add_months(d, n)", d=start, n=months) == expected


def test_year_month_day():
    assert (ev("year(d)", d=date(2024, 2, 29)), ev("month(d)", d=date(2024, 2, 29)), ev("day(d)", d=date(2024, 2, 29))) \
        == (2024, 2, 29)
    assert ev("year(d)", d=None) is None
    assert ev("day(t)", t=datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == 2  # the local day


@pytest.mark.parametrize(("unit", "expected"), [
    ("day", date(2026, 5, 14)),
    ("week", date(2026, 5, 11)),  # a Thursday → its Monday
    ("month", date(2026, 5, 1)),
    ("quarter", date(2026, 4, 1)),
    ("year", date(2026, 1, 1)),
])
def test_date_trunc(unit: str, expected: date):
    assert ev(f"date_trunc('{unit}', d)", d=date(2026, 5, 14)) == expected


def test_date_trunc_with_a_unit_from_a_field_is_checked_at_run_time():
    assert "date_trunc unit must be one of" in error("date_trunc(u, d)", u="fortnight", d=date(2026, 1, 1))


def test_coalesce_and_is_blank():
    assert ev("coalesce(discount, 0)", discount=None) == 0
    assert ev("coalesce(discount, 0)", discount=Decimal("5.00")) == Decimal("5.00")
    assert ev("coalesce(a, b)", a=None, b=None) is None
    assert ev("coalesce(a, 1)", a="") == ""  # empty text is a value, not blank
    for blank in (None, "", []):
        assert ev("is_blank(x)", x=blank) is True
    for value in (0, " ", ["a"], False):
        assert ev("is_blank(x)", x=value) is False


def test_if_and_conditional_expressions():
    assert ev("if_(amount > 100000, '大', '小')", amount=Decimal("100000.01")) == "大"
    assert ev("if_(amount > 100000, '大', '小')", amount=Decimal("100000.00")) == "小"
    assert ev("if_(amount > 100000, '大', '小')", amount=None) == "小"
    assert ev("'yes' if active else 'no'", active=None) == "no"


def test_if_and_coalesce_only_evaluate_what_they_return():
    assert ev("if_(n == 0, 0, total / n)", n=0, total=5) == 0
    assert ev("coalesce(a, 1 / 0)", a=3) == 3


@pytest.mark.parametrize(("source", "expected"), [
    ("round(x)", Decimal("3")),
    ("round(x, 1)", Decimal("2.5")),
    ("round(y, 2)", Decimal("2.35")),
    ("round(-y, 2)", Decimal("-2.35")),
    ("round(z, -2)", 1300),
    ("round(-z, -2)", -1300),
    ("round(z, 2)", 1250),
    ("round(f, 2)", 2.68),  # half up on the shortest text, not the binary value 2.67499...
    ("round(m, -1)", Decimal("20")),
])
def test_round_is_half_away_from_zero(source: str, expected: Any):
    values = dict(x=Decimal("2.5"), y=Decimal("2.345"), z=1250, f=2.675, m=Decimal("15.00"))
    assert same(ev(source, **values), expected)


def test_min_max_skip_blanks_and_keep_types():
    assert same(ev("min(a, b, 3)", a=None, b=Decimal("2.50")), Decimal("2.50"))
    assert same(ev("max(a, b, 3)", a=None, b=Decimal("2.50")), 3)
    assert ev("max(a, b)", a=None, b=None) is None
    assert ev("min(d1, d2)", d1=date(2026, 1, 2), d2=date(2025, 12, 31)) == date(2025, 12, 31)
    assert ev("max('b', '张三', 'a')") == "张三"
    assert "cannot compare" in error("min(1, 'a')")


def test_abs_len_lower_upper():
    assert same(ev("abs(x)", x=Decimal("-3.50")), Decimal("3.50"))
    assert ev("abs(-4)") == 4
    assert ev("len(name)", name="上海合同") == 4
    assert ev("len(tags)", tags=["VIP", "新"]) == 2
    assert ev("len(name)", name=None) is None
    assert ev("lower('ABC 合同')") == "abc 合同"
    assert ev("upper(name)", name="abc") == "ABC"


def test_contains_and_starts_with():
    assert ev("contains(name, '合同')", name="上海合同") is True
    assert ev("contains(tags, 'VIP')", tags=["VIP"]) is True
    assert ev("contains(tags, 'VIP')", tags=None) is False
    assert ev("starts_with(code, 'CN-')", code="CN-001") is True
    assert ev("starts_with(code, 'CN-')", code=None) is False
    assert "contains expects text, got a number (5)" in error("contains(name, 5)", name="a")


def test_in_and_not_in():
    assert ev("status in ['active', 'pending']", status="active") is True
    assert ev("status not in ['active', 'pending']", status=None) is True
    assert ev("status in ['active', None]", status=None) is True
    assert ev("'VIP' in tags", tags=["VIP", "新"]) is True
    assert ev("'合同' in name", name="上海合同") is True


# -- blanks, conditions and comparisons -----------------------------------------------------


def test_names_missing_from_the_record_are_blank():
    assert ev("quantity * unit_price", quantity=3) is None
    assert ev("is_blank(nothing)") is True


def test_comparisons_with_a_blank_are_false_and_blank_equals_blank():
    assert ev("x > 5", x=None) is False
    assert ev("not (x > 5)", x=None) is True
    assert ev("x == None", x=None) is True
    assert ev("x != 5", x=None) is True
    assert ev("0 < x < 10", x=5) is True


def test_and_or_not_want_yes_no():
    assert ev("a and b", a=True, b=None) is False
    assert ev("a or b", a=None, b=True) is True
    assert "must be yes/no, got text 'x'" in error("a and b", a="x", b=True)


# -- lookups -------------------------------------------------------------------------------


def test_lookup_fields_one_level_deep():
    assert ev("account.tier", {"account": {"tier": "战略"}}, account="acc1") == "战略"
    assert ev("account.tier", {"account": None}, account="acc1") is None
    assert ev("account.tier", account=None) is None  # an empty lookup needs no related record
    assert ev("account.missing", {"account": {"tier": "战略"}}, account="acc1") is None


def test_a_lookup_that_was_not_loaded_is_an_error_not_a_silent_blank():
    assert error("account.tier", account="acc1") == "the record that 'account' points to was not loaded"


# -- errors read like sentences ------------------------------------------------------------


@pytest.mark.parametrize(("source", "record", "message"), [
    ("x / 0", {"x": 1}, "division by zero"),
    ("x / y", {"x": Decimal("1.00"), "y": Decimal("0")}, "division by zero"),
    ("x % 0", {"x": 1}, "division by zero"),
    ("name + 1", {"name": "a"}, "cannot add text and a number"),
    ("d + 1", {"d": date(2026, 1, 1)}, "cannot add a number to a date; use add_days(d, n)"),
    ("a - b", {"a": date(2026, 1, 1), "b": date(2025, 1, 1)}, "cannot subtract a date from a date; use days_between(a, b)"),
    ("add_months('abc', 1)", {}, "add_months expects a date, got text 'abc'"),
    ("add_days(d, 1.5)", {"d": date(2026, 1, 1)}, "add_days expects a whole number of days, got a number (1.5)"),
    ("x > 'a'", {"x": 5}, "cannot compare a number with text"),
    ("d == t", {"d": date(2026, 1, 1), "t": datetime(2026, 1, 1, tzinfo=UTC)}, "cannot compare a date with a date-time"),
    ("if_(name, 1, 2)", {"name": "a"}, "the condition of if_ must be yes/no, got text 'a'"),
    ("-name", {"name": "a"}, "cannot negate text 'a'"),
    ("abs(name)", {"name": "a"}, "abs expects a number, got text 'a'"),
    ("2 ** 101", {}, None),
    ("x ** 101", {"x": 2}, None),
    ("x ** n", {"x": 2, "n": 101}, "the exponent 101 is too large; the limit is 100"),
    ("x ** 100", {"x": 10**40}, "is too large to compute"),
    ("(-8) ** 0.5", {}, "cannot raise a negative number to a fractional power"),
    ("big * 10", {"big": 1e308}, "the result is too large to compute"),
])
def test_evaluation_errors_are_readable(source: str, record: dict[str, Any], message: str | None):
    try:
        compiled = compile_expression(source)
    except ExpressionError:
        assert message is None  # refused at save time already
        return
    with pytest.raises(EvaluationError) as caught:
        evaluate(compiled, record, {}, CTX)
    text = caught.value.message
    assert "Traceback" not in text and "Error" not in text
    if message is not None:
        assert message in text


def test_unexpected_failures_inside_a_function_become_sentences():
    huge = date(9999, 12, 31)
    assert "out of the calendar" in error("add_days(d, 1)", d=huge)
    assert "out of the calendar" in error("add_months(d, 1)", d=huge)
    assert "round: 99 decimal places is out of range" in error("round(x, 99)", x=Decimal(1))


def test_values_that_are_not_plain_data_are_refused():
    assert "plain values" in error("x", x=object())
    assert "plain values" in error("x", x={"a": 1})


# -- threads -------------------------------------------------------------------------------


def test_concurrent_evaluation_from_eight_threads_gives_each_record_its_own_answer():
    compiled = compile_expression("if_(quantity * unit_price > 1000, days_between(today(), end_date), -quantity)")
    start = date(2026, 3, 2)
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def work(worker: int) -> None:
        barrier.wait()
        for i in range(2_000):
            quantity = worker * 10_000 + i
            record = {"quantity": quantity, "unit_price": Decimal("0.10"), "end_date": start + timedelta(days=i)}
            expected = i if quantity * Decimal("0.10") > 1000 else -quantity
            got = evaluate(compiled, record, {}, CTX)
            if got != expected:
                failures.append(f"worker {worker}, record {i}: {got} != {expected}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
