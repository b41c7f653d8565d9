"""Cron schedules: what parses, what is refused and why, and when a schedule fires across time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trellis.metadata.cron import MACROS, MAX_LENGTH, CronError, CronSchedule, parse_cron

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local(tz: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=tz, fold=fold)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def refusal(source: object) -> str:
    with pytest.raises(CronError) as caught:
        parse_cron(source)  # type: ignore[arg-type]
    return str(caught.value)


# --- parsing -------------------------------------------------------------------------------------


def test_every_field_star():
    schedule = parse_cron("* * * * *")
    assert schedule.minutes == frozenset(range(60))
    assert schedule.hours == frozenset(range(24))
    assert schedule.days == frozenset(range(1, 32))
    assert schedule.months == frozenset(range(1, 13))
    assert schedule.weekdays == frozenset(range(7))
    assert not schedule.day_restricted and not schedule.weekday_restricted


@pytest.mark.parametrize(("source", "minutes"), [
    ("5 * * * *", {5}),
    ("1,2,3 * * * *", {1, 2, 3}),
    ("10-12 * * * *", {10, 11, 12}),
    ("*/15 * * * *", {0, 15, 30, 45}),
    ("10-30/10 * * * *", {10, 20, 30}),
    ("0-5,*/20,59 * * * *", {0, 1, 2, 3, 4, 5, 20, 40, 59}),
    ("*/60 * * * *", {0}),
])
def test_minute_syntax(source, minutes):
    assert parse_cron(source).minutes == frozenset(minutes)


@pytest.mark.parametrize(("field", "weekdays"), [
    ("7", {0}),
    ("0", {0}),
    ("5-7", {5, 6, 0}),
    ("mon-fri", {1, 2, 3, 4, 5}),
    ("FRI-SUN", {5, 6, 0}),
    ("sun,Wed,SAT", {0, 3, 6}),
    ("*/2", {0, 2, 4, 6}),
    ("1-7/3", {1, 4, 0}),
])
def test_weekday_syntax(field, weekdays):
    assert parse_cron(f"0 0 * * {field}").weekdays == frozenset(weekdays)


def test_month_names_are_case_insensitive():
    assert parse_cron("0 0 1 jan-Mar,DEC *").months == frozenset({1, 2, 3, 12})
    assert parse_cron("0 0 1 jun-aug/2 *").months == frozenset({6, 8})


@pytest.mark.parametrize(("macro", "fields"), sorted(MACROS.items()))
def test_macros_equal_their_fields(macro, fields):
    expanded = parse_cron(macro.upper())
    written = parse_cron(fields)
    assert (expanded.minutes, expanded.hours, expanded.days, expanded.months, expanded.weekdays) == (
        written.minutes, written.hours, written.days, written.months, written.weekdays)
    assert expanded.source == macro.upper()


def test_macro_meanings():
    assert parse_cron("@hourly").minutes == {0} and parse_cron("@hourly").hours == frozenset(range(24))
    assert parse_cron("@weekly").weekdays == {0}
    assert parse_cron("@monthly").days == {1}
    assert parse_cron("@annually").months == {1}


def test_source_is_kept_stripped():
    assert parse_cron("  0 9 * * 1-5\n").source == "0 9 * * 1-5"
    assert parse_cron("0\t9  *   *\t1-5").hours == {9}


@pytest.mark.parametrize(("source", "day_restricted", "weekday_restricted"), [
    ("0 0 * * *", False, False),
    ("0 0 1 * *", True, False),
    ("0 0 * * MON", False, True),
    ("0 0 1 * MON", True, True),
    ("0 0 */2 * MON", False, True),  # Vixie: a field starting with * is not a restriction
    ("0 0 1-31 * 0-6", True, True),
])
def test_restriction_flags(source, day_restricted, weekday_restricted):
    schedule = parse_cron(source)
    assert (schedule.day_restricted, schedule.weekday_restricted) == (day_restricted, weekday_restricted)


def test_schedules_compare_by_value():
    assert parse_cron("0 9 * * 1-5") == parse_cron("0 9 * * 1-5")
    assert isinstance(parse_cron("@daily"), CronSchedule)


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "fragments"), [
    ("", ["empty", "five fields"]),
    ("   ", ["empty"]),
    ("0 0 * *", ["5 fields", "4 were given"]),
    ("0", ["5 fields", "1 was given"]),
    ("0 0 * * * *", ["5 fields", "6 were given", "seconds and years are not supported"]),
    ("60 * * * *", ["minute: 60 is out of range 0-59"]),
    ("0 24 * * *", ["hour: 24 is out of range 0-23"]),
    ("0 0 0 * *", ["day of month: 0 is out of range 1-31"]),
    ("0 0 32 * *", ["day of month: 32 is out of range 1-31"]),
    ("0 0 * 13 *", ["month: 13 is out of range 1-12"]),
    ("0 0 * 0 *", ["month: 0 is out of range 1-12"]),
    ("0 0 * * 8", ["day of week: 8 is out of range 0-7"]),
    ("0 0-24/2 * * *", ["hour: 24 is out of range 0-23"]),
    ("1,,2 * * * *", ["minute: empty item in '1,,2'", "expected a number, range or step"]),
    ("0 ,5 * * *", ["hour: empty item"]),
    ("*/0 * * * *", ["minute: step 0", "expected a step of 1 or more"]),
    ("0 1-5/0 * * *", ["hour: step 0"]),
    ("*/x * * * *", ["minute: step 'x'", "not a number", "*/n"]),
    ("1/2/3 * * * *", ["minute: step '2/3'", "not a number"]),
    ("*/ * * * *", ["minute: step ''", "not a number"]),
    ("5/15 * * * *", ["minute: '5/15' has a step but no range", "*/n or a-b/n"]),
    ("0 5-2 * * *", ["hour: range '5-2' is reversed", "lower value first"]),
    ("0 0 * DEC-JAN *", ["month: range 'DEC-JAN' is reversed"]),
    ("0 0 * * FRI-MON", ["day of week: range 'FRI-MON' is reversed"]),
    ("-5 * * * *", ["minute: '-5' is not a valid range", "a-b"]),
    ("5- * * * *", ["minute: '5-' is not a valid range"]),
    ("1-2-3 * * * *", ["minute: '1-2-3' is not a valid range"]),
    ("x * * * *", ["minute: 'x' is not a number 0-59"]),
    ("0 noon * * *", ["hour: 'noon' is not a number 0-23"]),
    ("0 0 ? * *", ["day of month: '?' is not a number 1-31"]),
    ("0 0 L * *", ["day of month: 'L' is not a number 1-31"]),
    ("0 0 * FOO *", ["month: 'FOO' is not a number 1-12 or a month name JAN-DEC"]),
    ("0 0 * JANUARY *", ["month: 'JANUARY' is not"]),
    ("0 0 * * MONDAY", ["day of week: 'MONDAY' is not a number 0-7 or a day name SUN-SAT"]),
    ("0 0 * * 1#2", ["day of week: '1#2' is not"]),
    ("0 0 * MON *", ["month: 'MON' is not"]),
    ("0 0 * * JAN", ["day of week: 'JAN' is not"]),
    ("@reboot", ["unknown macro '@reboot'", "@daily"]),
    ("@daily 5", ["unknown macro"]),
])
def test_refusals_name_the_field_and_the_expectation(source, fragments):
    message = refusal(source)
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(("source", "fragments"), [
    ("0 0 31 2 *", ["day of month", "never fire", "day 31 never occurs in February"]),
    ("0 0 30,31 2 *", ["day of month", "days 30, 31 never occur in February"]),
    ("0 0 31 4,6,9,11 *", ["day 31 never occurs in April, June, September, November"]),
    ("0 0 31 FEB * ", ["never fire"]),
])
def test_schedules_that_can_never_fire(source, fragments):
    message = refusal(source)
    for fragment in fragments:
        assert fragment in message, message


def test_possible_day_and_month_pairs_are_accepted():
    parse_cron("0 0 29 2 *")  # leap years only, but it fires
    parse_cron("0 0 30,31 2,3 *")  # March has them
    parse_cron("0 0 31 2 MON")  # day of month is dead, but Mondays in February fire (either rule)


def test_length_and_type_limits():
    assert f"the limit is {MAX_LENGTH}" in refusal("0 " * 101)
    parse_cron(("0" + " " * (MAX_LENGTH - 9)) + "0 * * *")
    assert "text" in refusal(None)


def test_cron_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_cron("61 * * * *")


# --- matches -------------------------------------------------------------------------------------


def test_matches_is_wall_time_at_minute_resolution():
    schedule = parse_cron("30 9 * * 1-5")
    assert schedule.matches(datetime(2024, 3, 8, 9, 30))  # Friday
    assert schedule.matches(datetime(2024, 3, 8, 9, 30, 59))
    assert not schedule.matches(datetime(2024, 3, 9, 9, 30))  # Saturday
    assert not schedule.matches(datetime(2024, 3, 8, 9, 31))


def test_matches_refuses_aware_times():
    with pytest.raises(ValueError, match="naive"):
        parse_cron("* * * * *").matches(utc(2024, 1, 1))


def test_day_of_month_or_day_of_week_when_both_restricted():
    schedule = parse_cron("0 0 13 * FRI")
    assert schedule.matches(datetime(2024, 1, 13))  # a Saturday, but the 13th
    assert schedule.matches(datetime(2024, 1, 5))  # a Friday, not the 13th
    assert not schedule.matches(datetime(2024, 1, 6))


def test_day_of_month_and_day_of_week_when_one_is_a_star_field():
    schedule = parse_cron("0 0 */2 * FRI")  # odd days that are Fridays
    assert schedule.matches(datetime(2024, 1, 5))
    assert not schedule.matches(datetime(2024, 1, 12))  # Friday, even day
    assert not schedule.matches(datetime(2024, 1, 13))  # odd day, Saturday


# --- next_after ----------------------------------------------------------------------------------


def test_weekday_morning_from_friday_evening_is_monday():
    schedule = parse_cron("0 9 * * 1-5")
    friday_evening = local(SHANGHAI, 2024, 3, 8, 20, 0)
    found = schedule.next_after(friday_evening, SHANGHAI)
    assert found == local(SHANGHAI, 2024, 3, 11, 9, 0)
    assert found.tzinfo is UTC
    assert found == utc(2024, 3, 11, 1, 0)


def test_next_after_accepts_an_instant_in_any_zone():
    schedule = parse_cron("0 9 * * *")
    same_instant = [local(SHANGHAI, 2024, 6, 1, 10, 0), utc(2024, 6, 1, 2, 0), local(NEW_YORK, 2024, 5, 31, 22, 0)]
    assert {schedule.next_after(moment, SHANGHAI) for moment in same_instant} == {utc(2024, 6, 2, 1, 0)}


def test_next_after_is_strictly_after():
    schedule = parse_cron("*/15 * * * *")
    assert schedule.next_after(utc(2024, 1, 1, 10, 0), BERLIN) == utc(2024, 1, 1, 10, 15)
    assert schedule.next_after(utc(2024, 1, 1, 10, 0, 0, 1), BERLIN) == utc(2024, 1, 1, 10, 15)
    assert schedule.next_after(utc(2024, 1, 1, 10, 14, 59), BERLIN) == utc(2024, 1, 1, 10, 15)
    assert schedule.next_after(utc(2024, 1, 1, 23, 50), BERLIN) == utc(2024, 1, 2, 0, 0)


def test_every_fifteen_minutes_rolls_over_the_year():
    schedule = parse_cron("*/15 * * * *")
    assert schedule.next_after(local(BERLIN, 2024, 12, 31, 23, 46), BERLIN) == local(BERLIN, 2025, 1, 1, 0, 0)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="aware"):
        parse_cron("@daily").next_after(datetime(2024, 1, 1), BERLIN)


@pytest.mark.parametrize(("source", "after", "expected"), [
    ("0 0 31 * *", (2024, 1, 31, 1, 0), (2024, 3, 31, 0, 0)),
    ("0 0 31 * *", (2024, 3, 31, 0, 0), (2024, 5, 31, 0, 0)),
    ("0 0 30 * *", (2024, 1, 30, 0, 0), (2024, 3, 30, 0, 0)),
    ("0 0 28-31 2 *", (2023, 2, 28, 0, 0), (2024, 2, 28, 0, 0)),
    ("0 0 28-31 2 *", (2024, 2, 28, 0, 0), (2024, 2, 29, 0, 0)),
    ("0 12 1 * *", (2024, 12, 1, 12, 0), (2025, 1, 1, 12, 0)),
    ("@yearly", (2024, 1, 1, 0, 0), (2025, 1, 1, 0, 0)),
    ("59 23 31 12 *", (2024, 1, 1, 0, 0), (2024, 12, 31, 23, 59)),
])
def test_month_ends_and_long_jumps(source, after, expected):
    found = parse_cron(source).next_after(local(BERLIN, *after), BERLIN)
    assert found == local(BERLIN, *expected)


def test_leap_day():
    schedule = parse_cron("0 0 29 2 *")
    assert schedule.next_after(utc(2024, 3, 1), NEW_YORK) == local(NEW_YORK, 2028, 2, 29)
    assert schedule.next_after(utc(2023, 6, 1), NEW_YORK) == local(NEW_YORK, 2024, 2, 29)
    assert schedule.next_after(utc(2097, 3, 1), NEW_YORK) == local(NEW_YORK, 2104, 2, 29)  # 2100 is not leap


def test_leap_day_that_must_also_be_a_sunday():
    found = parse_cron("0 0 29 2 */7").next_after(utc(2024, 3, 1), NEW_YORK)  # */7: Sundays, and both must match
    wall = found.astimezone(NEW_YORK)
    assert (wall.month, wall.day, wall.isoweekday()) == (2, 29, 7)
    assert wall.year == 2032


def test_day_of_month_or_day_of_week_in_next_after():
    schedule = parse_cron("0 0 13 * FRI")
    firings = schedule.between(local(BERLIN, 2024, 1, 1), local(BERLIN, 2024, 1, 31), BERLIN)
    assert [firing.astimezone(BERLIN).day for firing in firings] == [5, 12, 13, 19, 26]


def test_and_rule_in_next_after():
    schedule = parse_cron("0 0 */2 * FRI")
    firings = schedule.between(local(BERLIN, 2024, 1, 1), local(BERLIN, 2024, 2, 29), BERLIN)
    assert [(f.astimezone(BERLIN).month, f.astimezone(BERLIN).day) for f in firings] == [
        (1, 5), (1, 19), (2, 9), (2, 23)]


# --- daylight saving time ------------------------------------------------------------------------


def test_gap_fires_once_when_the_clock_jumps():
    schedule = parse_cron("30 2 * * *")  # 02:30 does not exist in New York on 2024-03-10
    found = schedule.next_after(local(NEW_YORK, 2024, 3, 9, 12, 0), NEW_YORK)
    assert found == utc(2024, 3, 10, 7, 0)
    assert found.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2024, 3, 10, 3, 0)
    assert schedule.next_after(found, NEW_YORK) == local(NEW_YORK, 2024, 3, 11, 2, 30)


def test_gap_times_and_the_first_time_after_collapse_into_one_firing():
    schedule = parse_cron("0,30 2,3 * * *")
    firings = schedule.between(local(NEW_YORK, 2024, 3, 10, 0, 0), local(NEW_YORK, 2024, 3, 10, 12, 0), NEW_YORK)
    assert firings == [utc(2024, 3, 10, 7, 0), utc(2024, 3, 10, 7, 30)]


def test_every_half_hour_across_the_gap():
    schedule = parse_cron("*/30 * * * *")
    firings = schedule.between(utc(2024, 3, 10, 5, 0), utc(2024, 3, 10, 8, 0), NEW_YORK)
    walls = [firing.astimezone(NEW_YORK).strftime("%H:%M") for firing in firings]
    assert walls == ["00:30", "01:00", "01:30", "03:00", "03:30", "04:00"]


def test_gap_in_berlin():
    found = parse_cron("30 2 * * *").next_after(local(BERLIN, 2024, 3, 30, 12, 0), BERLIN)
    assert found == utc(2024, 3, 31, 1, 0)  # 03:00 CEST, the instant the clock jumps


def test_overlap_fires_once_at_the_first_occurrence():
    schedule = parse_cron("30 1 * * *")  # 01:30 happens twice in New York on 2024-11-03
    firings = schedule.between(local(NEW_YORK, 2024, 11, 2, 12, 0), local(NEW_YORK, 2024, 11, 4, 12, 0), NEW_YORK)
    assert firings == [utc(2024, 11, 3, 5, 30), utc(2024, 11, 4, 6, 30)]  # 01:30 EDT, then 01:30 EST


def test_overlap_second_pass_does_not_fire_again():
    schedule = parse_cron("*/15 * * * *")
    second_pass = local(NEW_YORK, 2024, 11, 3, 1, 30, fold=1)  # 01:30 EST, the repeat
    assert second_pass.astimezone(UTC) == utc(2024, 11, 3, 6, 30)  # == across zones ignores ambiguous times
    assert schedule.next_after(second_pass, NEW_YORK) == local(NEW_YORK, 2024, 11, 3, 2, 0)


def test_every_half_hour_across_the_overlap():
    schedule = parse_cron("*/30 * * * *")
    firings = schedule.between(utc(2024, 11, 3, 4, 0), utc(2024, 11, 3, 8, 0), NEW_YORK)
    assert [f - firings[0] for f in firings] == [timedelta(minutes=m) for m in (0, 30, 60, 150, 180, 210)]
    assert firings[0] == utc(2024, 11, 3, 4, 30)


def test_daily_schedule_keeps_local_time_across_transitions():
    firings = parse_cron("0 9 * * *").between(local(NEW_YORK, 2024, 3, 9), local(NEW_YORK, 2024, 3, 11, 23), NEW_YORK)
    assert [f.astimezone(NEW_YORK).hour for f in firings] == [9, 9, 9]
    assert [f.hour for f in firings] == [14, 13, 13]  # EST then EDT, in UTC


# --- between -------------------------------------------------------------------------------------


def test_daily_over_thirty_days():
    firings = parse_cron("0 9 * * *").between(local(SHANGHAI, 2024, 6, 1), local(SHANGHAI, 2024, 7, 1), SHANGHAI)
    assert len(firings) == 30
    assert firings[0] == local(SHANGHAI, 2024, 6, 1, 9, 0)
    assert firings[-1] == local(SHANGHAI, 2024, 6, 30, 9, 0)
    assert all(firing.tzinfo is UTC for firing in firings)
    assert firings == sorted(firings)


def test_between_excludes_start_and_includes_end():
    schedule = parse_cron("0 9 * * *")
    start, end = local(BERLIN, 2024, 6, 1, 9, 0), local(BERLIN, 2024, 6, 3, 9, 0)
    firings = schedule.between(start, end, BERLIN)
    assert firings == [local(BERLIN, 2024, 6, 2, 9, 0), local(BERLIN, 2024, 6, 3, 9, 0)]


def test_between_limit_returns_the_first_firings():
    schedule = parse_cron("* * * * *")
    start = utc(2024, 1, 1)
    firings = schedule.between(start, start + timedelta(days=30), BERLIN, limit=5)
    assert firings == [start + timedelta(minutes=m) for m in range(1, 6)]
    assert len(schedule.between(start, start + timedelta(days=30), BERLIN)) == 10_000
    assert schedule.between(start, start + timedelta(days=1), BERLIN, limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        schedule.between(start, start + timedelta(days=1), BERLIN, limit=-1)


def test_between_empty_and_reversed_intervals():
    schedule = parse_cron("0 9 * * *")
    moment = local(BERLIN, 2024, 6, 1, 12, 0)
    assert schedule.between(moment, moment, BERLIN) == []
    assert schedule.between(moment, moment - timedelta(days=5), BERLIN) == []
    with pytest.raises(ValueError, match="aware"):
        schedule.between(moment, datetime(2024, 6, 5), BERLIN)


def test_search_gives_up_on_a_schedule_that_never_fires():
    """parse_cron refuses Feb 31; built by hand, the search stops at its horizon instead of looping."""
    every = frozenset(range(7))
    impossible = CronSchedule("0 0 31 2 *", frozenset({0}), frozenset({0}), frozenset({31}), frozenset({2}), every,
                              day_restricted=True, weekday_restricted=False)
    with pytest.raises(CronError, match="never fires"):
        impossible.next_after(utc(2024, 1, 1), BERLIN)
