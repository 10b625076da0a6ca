"""Business time: working hours, next working moment, and adding working time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fulfil.engine.clock.calendars import BusinessCalendar, parse_clock_time
from fulfil.engine.model import Calendar
from hypothesis import given, settings
from hypothesis import strategies as st

NY = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar.from_model(
    Calendar(
        name="office",
        timezone="America/New_York",
        start="09:00",
        end="17:00",
        holidays=("2026-12-25", "2027-01-01"),
    )
)
UTC_OFFICE = BusinessCalendar.from_model(Calendar(name="utc"))


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_from_model_reads_hours_weekdays_and_holidays() -> None:
    """The model's calendar becomes a zone, a set of weekdays, hours and holiday dates."""
    assert OFFICE.tz == NY
    assert OFFICE.weekdays == frozenset(range(5))
    assert (OFFICE.start, OFFICE.end) == (time(9), time(17))
    assert OFFICE.day_length == timedelta(hours=8)
    assert len(OFFICE.holidays) == 2


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (ny(2026, 3, 2, 9, 0), True),  # Monday at opening: start is inclusive
        (ny(2026, 3, 2, 16, 59), True),
        (ny(2026, 3, 2, 17, 0), False),  # end is exclusive
        (ny(2026, 3, 2, 8, 59), False),
        (ny(2026, 3, 7, 12, 0), False),  # Saturday
        (ny(2026, 12, 25, 12, 0), False),  # a holiday on a Friday
        (utc(2026, 3, 2, 14, 0), True),  # 09:00 EST given in UTC
        (utc(2026, 3, 2, 13, 59), False),
    ],
)
def test_is_working(moment: datetime, working: bool) -> None:
    """Working hours are [start, end) local time on working days that are not holidays."""
    assert OFFICE.is_working(moment) is working


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (ny(2026, 3, 2, 10, 15), ny(2026, 3, 2, 10, 15)),  # inside: itself
        (ny(2026, 3, 2, 7, 0), ny(2026, 3, 2, 9, 0)),  # before opening: today's opening
        (ny(2026, 3, 2, 17, 0), ny(2026, 3, 3, 9, 0)),  # at closing: tomorrow's opening
        (ny(2026, 3, 6, 18, 0), ny(2026, 3, 9, 9, 0)),  # Friday evening: Monday
        (ny(2026, 12, 24, 17, 30), ny(2026, 12, 28, 9, 0)),  # over Christmas and the weekend
    ],
)
def test_next_working(moment: datetime, expected: datetime) -> None:
    """next_working is the moment itself within hours, else the next period's start, in UTC."""
    result = OFFICE.next_working(moment)
    assert result == expected
    assert result.tzinfo is UTC


def test_a_message_late_in_the_day_is_due_next_morning() -> None:
    """A message at 16:30 with 1h of business time is due 09:30 the next working day."""
    assert OFFICE.add(ny(2026, 3, 3, 16, 30), timedelta(hours=1)) == ny(2026, 3, 4, 9, 30)


def test_used_up_exactly_at_closing_is_due_at_closing() -> None:
    """When the working time runs out exactly at the end of a period, the end is the due time."""
    assert OFFICE.add(ny(2026, 3, 3, 16, 0), timedelta(hours=1)) == ny(2026, 3, 3, 17, 0)
    assert OFFICE.add(ny(2026, 3, 3, 9, 0), timedelta(days=1)) == ny(2026, 3, 3, 17, 0)


def test_friday_evening_rolls_to_monday() -> None:
    """A request on Friday evening counts from Monday's opening."""
    assert OFFICE.add(ny(2026, 2, 27, 19, 0), timedelta(hours=1)) == ny(2026, 3, 2, 10, 0)
    assert OFFICE.add(ny(2026, 2, 27, 16, 30), timedelta(hours=1)) == ny(2026, 3, 2, 9, 30)


def test_holiday_is_skipped() -> None:
    """Christmas (a Friday) is not a working day: Thursday 16:30 + 1h is Monday 09:30."""
    assert OFFICE.add(ny(2026, 12, 24, 16, 30), timedelta(hours=1)) == ny(2026, 12, 28, 9, 30)
    assert OFFICE.add(ny(2026, 12, 24, 10, 0), timedelta(days=1)) == ny(2026, 12, 28, 10, 0)


MON_10 = ny(2026, 3, 2, 10, 0)


@pytest.mark.parametrize(
    ("written", "duration", "expected"),
    [
        ("0m", timedelta(0), MON_10),
        ("90m", timedelta(minutes=90), ny(2026, 3, 2, 11, 30)),
        ("PT90M", timedelta(minutes=90), ny(2026, 3, 2, 11, 30)),
        ("1h", timedelta(hours=1), ny(2026, 3, 2, 11, 0)),
        ("8h", timedelta(hours=8), ny(2026, 3, 3, 10, 0)),
        ("30s", timedelta(seconds=30), ny(2026, 3, 2, 10, 0, 30)),
        ("24h", timedelta(hours=24), ny(2026, 3, 3, 10, 0)),  # a whole day: one working day
        ("PT24H", timedelta(hours=24), ny(2026, 3, 3, 10, 0)),
        ("1d", timedelta(days=1), ny(2026, 3, 3, 10, 0)),
        ("2d", timedelta(days=2), ny(2026, 3, 4, 10, 0)),
        ("48h", timedelta(hours=48), ny(2026, 3, 4, 10, 0)),
        ("7d", timedelta(days=7), ny(2026, 3, 11, 10, 0)),  # seven working days
        ("P1W", timedelta(weeks=1), ny(2026, 3, 11, 10, 0)),
        ("2w", timedelta(weeks=2), ny(2026, 3, 20, 10, 0)),  # fourteen working days
        ("36h", timedelta(hours=36), ny(2026, 3, 6, 14, 0)),  # not whole days: 36 working hours
        ("1d12h", timedelta(days=1, hours=12), ny(2026, 3, 6, 14, 0)),
        ("P1DT2H", timedelta(days=1, hours=2), ny(2026, 3, 5, 12, 0)),  # 26 working hours
    ],
)
def test_every_duration_form(written: str, duration: timedelta, expected: datetime) -> None:
    """Whole days count working days; any other duration counts working time as written."""
    assert OFFICE.add(MON_10, duration) == expected, written


def test_dst_spring_forward_keeps_local_hours() -> None:
    """Across the March 2026 change, Friday 16:30 EST + 1h is Monday 09:30 EDT (13:30 UTC)."""
    due = OFFICE.add(ny(2026, 3, 6, 16, 30), timedelta(hours=1))
    assert due == utc(2026, 3, 9, 13, 30)
    assert OFFICE.add(ny(2026, 3, 6, 10, 0), timedelta(days=2)) == utc(2026, 3, 10, 14, 0)


def test_add_working_time_does_not_reinterpret_whole_days() -> None:
    """add_working_time counts a day as 24 working hours: three 8-hour days."""
    assert OFFICE.add_working_time(MON_10, timedelta(days=1)) == ny(2026, 3, 5, 10, 0)
    assert OFFICE.working_time(timedelta(days=3)) == timedelta(hours=24)
    assert OFFICE.working_time(timedelta(hours=25)) == timedelta(hours=25)


def test_dst_fall_back_keeps_local_hours() -> None:
    """Across the November 2026 change, Friday 16:30 EDT + 1h is Monday 09:30 EST (14:30 UTC)."""
    due = OFFICE.add(ny(2026, 10, 30, 16, 30), timedelta(hours=1))
    assert due == utc(2026, 11, 2, 14, 30)
    assert OFFICE.period(ny(2026, 11, 2, 12).date()) == (utc(2026, 11, 2, 14), utc(2026, 11, 2, 22))


def test_working_day_on_the_change_day_is_eight_hours() -> None:
    """A seven-day calendar's period on the spring-forward Sunday is still 09:00-17:00 local."""
    always = BusinessCalendar.from_model(
        Calendar(name="all_week", timezone="America/New_York", weekdays=tuple(range(7)))
    )
    opens, closes = always.period(ny(2026, 3, 8, 12).date())
    assert (opens, closes) == (utc(2026, 3, 8, 13), utc(2026, 3, 8, 21))
    assert always.add(ny(2026, 3, 7, 16), timedelta(hours=2)) == utc(2026, 3, 8, 14)


def test_input_in_any_zone_gives_the_same_utc_result() -> None:
    """The same instant written with another offset gives the same due time, in UTC."""
    paris = datetime(2026, 3, 3, 22, 30, tzinfo=timezone(timedelta(hours=1)))
    assert OFFICE.add(paris, timedelta(hours=1)) == ny(2026, 3, 4, 9, 30)


def test_round_the_clock_calendar_is_plain_time() -> None:
    """With hours 00:00-24:00 every day, business time is elapsed time and a day is 24h."""
    cal = BusinessCalendar.from_model(
        Calendar(name="always", weekdays=tuple(range(7)), start="00:00", end="24:00")
    )
    start = utc(2026, 3, 2, 23, 30)
    assert cal.day_length == timedelta(days=1)
    assert cal.add(start, timedelta(hours=1)) == utc(2026, 3, 3, 0, 30)
    assert cal.add(start, timedelta(days=3)) == start + timedelta(days=3)
    assert cal.is_working(utc(2026, 3, 3, 23, 59))


def test_negative_duration_and_naive_datetime_are_refused() -> None:
    """Business time only runs forwards, and only from aware datetimes."""
    with pytest.raises(ValueError, match="backwards"):
        OFFICE.add(MON_10, timedelta(minutes=-1))
    with pytest.raises(ValueError, match="naive"):
        OFFICE.is_working(datetime(2026, 3, 2, 10))


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        (Calendar(name="c", timezone="Mars/Olympus"), "unknown time zone"),
        (Calendar(name="c", start="17:00", end="09:00"), "must end after"),
        (Calendar(name="c", start="9am"), "HH:MM"),
        (Calendar(name="c", end="25:00"), "HH:MM"),
        (Calendar(name="c", weekdays=()), "weekdays"),
        (Calendar(name="c", weekdays=(7,)), "weekdays"),
        (Calendar(name="c", holidays=("25/12/2026",)), "ISO dates"),
    ],
)
def test_bad_calendars_are_refused(calendar: Calendar, message: str) -> None:
    """A calendar that cannot be computed is refused with a message saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.from_model(calendar)


def test_parse_clock_time_24_only_when_allowed() -> None:
    """24:00 means the end of the day where allowed (a closing time) and is refused elsewhere."""
    assert parse_clock_time("24:00", allow_24=True) == time.max
    with pytest.raises(ValueError):
        parse_clock_time("24:00")


# --- properties ---------------------------------------------------------------------------

starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
# Minutes that are not a whole number of days, so working time is the duration itself.
part_days = st.integers(min_value=0, max_value=20 * 1440).filter(lambda m: m % 1440 != 0)


def _in_hours_or_at_close(cal: BusinessCalendar, moment: datetime) -> bool:
    closing = cal.is_working(moment - timedelta(microseconds=1))
    return cal.is_working(moment) or closing


@settings(max_examples=200, deadline=None)
@given(starts, part_days, part_days)
def test_add_is_monotonic_and_lands_in_hours(start: datetime, a: int, b: int) -> None:
    """add is monotonic in the duration and lands within hours, or exactly at a closing time."""
    short, long = sorted((timedelta(minutes=a), timedelta(minutes=b)))
    first, second = OFFICE.add(start, short), OFFICE.add(start, long)
    assert start <= first <= second
    assert _in_hours_or_at_close(OFFICE, second)
    assert OFFICE.is_working(OFFICE.add(start, timedelta(0)))


@settings(max_examples=100, deadline=None)
@given(starts, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_whole_days_are_monotonic_working_days(start: datetime, a: int, b: int) -> None:
    """Whole-day durations are monotonic too and equal that many working-day lengths."""
    short, long = sorted((a, b))
    first = OFFICE.add(start, timedelta(days=short))
    assert first <= OFFICE.add(start, timedelta(days=long))
    assert first == OFFICE.add_working_time(start, short * OFFICE.day_length)


@settings(max_examples=40, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 3, 5), max_value=datetime(2026, 3, 10)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
    ),
    st.integers(min_value=1, max_value=12 * 60).filter(lambda m: m % 1440 != 0),
)
def test_add_matches_counting_working_minutes(start: datetime, minutes: int) -> None:
    """Against a minute-by-minute count of working minutes (across the March DST change)."""
    moment, counted = start, 0
    while counted < minutes:
        counted += OFFICE.is_working(moment)
        moment += timedelta(minutes=1)
    assert OFFICE.add(start, timedelta(minutes=minutes)) == moment
