"""Recurrences: next and previous occurrences, batch periods, and the cron matcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fulfil.engine.clock.recurrence import (
    next_occurrence,
    parse_cron,
    period_start,
    previous_occurrence,
    validate_recurrence,
)
from fulfil.engine.model import Recurrence
from hypothesis import given, settings
from hypothesis import strategies as st

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


DAILY_8 = Recurrence(every="daily", at="08:00")


def test_daily_later_today_or_tomorrow() -> None:
    """Daily at 08:00 fires today if 08:00 is still ahead, else tomorrow."""
    assert next_occurrence(DAILY_8, utc(2026, 3, 2, 7, 59)) == utc(2026, 3, 2, 8, 0)
    assert next_occurrence(DAILY_8, utc(2026, 3, 2, 9, 0)) == utc(2026, 3, 3, 8, 0)


def test_next_is_strictly_after() -> None:
    """An occurrence exactly at `after` is not returned: the next one is."""
    assert next_occurrence(DAILY_8, utc(2026, 3, 2, 8, 0)) == utc(2026, 3, 3, 8, 0)
    assert previous_occurrence(DAILY_8, utc(2026, 3, 2, 8, 0)) == utc(2026, 3, 1, 8, 0)


def test_daily_in_a_zone_keeps_local_time_across_dst() -> None:
    """Daily 08:00 New York is 13:00 UTC before the March change and 12:00 UTC after."""
    rec = Recurrence(every="daily", at="08:00", timezone="America/New_York")
    assert next_occurrence(rec, utc(2026, 3, 7, 14)) == utc(2026, 3, 8, 12, 0)
    assert next_occurrence(rec, utc(2026, 3, 6, 14)) == utc(2026, 3, 7, 13, 0)
    assert next_occurrence(rec, utc(2026, 10, 31, 13)) == utc(2026, 11, 1, 13, 0)


def test_skipped_and_repeated_local_times_fire_once() -> None:
    """02:30 on the spring-forward day fires at 03:30 EDT; 01:30 on fall-back fires once, EDT."""
    spring = Recurrence(every="daily", at="02:30", timezone="America/New_York")
    assert next_occurrence(spring, utc(2026, 3, 8, 0)) == utc(2026, 3, 8, 7, 30)
    assert next_occurrence(spring, utc(2026, 3, 8, 7, 30)) == utc(2026, 3, 9, 6, 30)
    autumn = Recurrence(every="daily", at="01:30", timezone="America/New_York")
    first = next_occurrence(autumn, utc(2026, 11, 1, 0))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_occurrence(autumn, first) == utc(2026, 11, 2, 6, 30)  # not 01:30 EST too


def test_weekly_on_a_weekday() -> None:
    """Weekly on Monday 08:00: from Wednesday it is next Monday; from Monday 08:00, a week on."""
    rec = Recurrence(every="weekly", weekday=0, at="08:00")
    assert next_occurrence(rec, utc(2026, 3, 4, 12)) == utc(2026, 3, 9, 8)
    assert next_occurrence(rec, utc(2026, 3, 9, 8)) == utc(2026, 3, 16, 8)
    assert next_occurrence(rec, utc(2026, 3, 9, 7)) == utc(2026, 3, 9, 8)
    friday = Recurrence(every="weekly", weekday=4, at="17:30", timezone="America/New_York")
    assert next_occurrence(friday, utc(2026, 3, 2)) == ny(2026, 3, 6, 17, 30)


def test_monthly_day_is_clipped_to_month_end() -> None:
    """Monthly on the 31st fires Jan 31, Feb 28, Mar 31, Apr 30 (and Feb 29 in a leap year)."""
    rec = Recurrence(every="monthly", day=31, at="06:00")
    moments = [utc(2026, 1, 1)]
    for _ in range(4):
        moments.append(next_occurrence(rec, moments[-1]))
    assert moments[1:] == [
        utc(2026, 1, 31, 6),
        utc(2026, 2, 28, 6),
        utc(2026, 3, 31, 6),
        utc(2026, 4, 30, 6),
    ]
    assert next_occurrence(rec, utc(2028, 2, 1)) == utc(2028, 2, 29, 6)


def test_monthly_on_the_first() -> None:
    """Monthly on day 1 from mid-December is January 1 of the next year."""
    rec = Recurrence(every="monthly", day=1, at="00:00")
    assert next_occurrence(rec, utc(2026, 12, 15)) == utc(2027, 1, 1)


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        ("0 8 * * 1", utc(2026, 3, 4), utc(2026, 3, 9, 8)),  # Monday 08:00
        ("0 8 * * mon", utc(2026, 3, 4), utc(2026, 3, 9, 8)),
        ("*/15 * * * *", utc(2026, 3, 4, 10, 7), utc(2026, 3, 4, 10, 15)),
        ("5,35 9-10 * * *", utc(2026, 3, 4, 10, 35), utc(2026, 3, 5, 9, 5)),
        ("0 9-17/4 * * *", utc(2026, 3, 4, 13, 1), utc(2026, 3, 4, 17)),
        ("0 0 1 */3 *", utc(2026, 2, 10), utc(2026, 4, 1)),
        ("0 0 1 jan,jul *", utc(2026, 2, 10), utc(2026, 7, 1)),
        ("30 6 * * 0", utc(2026, 3, 4), utc(2026, 3, 8, 6, 30)),  # Sunday as 0
        ("30 6 * * 7", utc(2026, 3, 4), utc(2026, 3, 8, 6, 30)),  # and as 7
        ("0 12 13 * 5", utc(2026, 3, 1), utc(2026, 3, 6, 12)),  # day OR weekday: Friday first
        ("0 12 13 * 5", utc(2026, 4, 11), utc(2026, 4, 13, 12)),  # the 13th, a Monday
        ("0 0 29 2 *", utc(2026, 3, 1), utc(2028, 2, 29)),
        ("0 0 * * 1-5", utc(2026, 3, 6, 1), utc(2026, 3, 9)),
        ("10-20/5 * * * *", utc(2026, 3, 4, 10, 16), utc(2026, 3, 4, 10, 20)),
        ("5/20 * * * *", utc(2026, 3, 4, 10, 26), utc(2026, 3, 4, 10, 45)),
    ],
)
def test_cron(cron: str, after: datetime, expected: datetime) -> None:
    """Five-field cron with lists, ranges, steps, names, Sunday as 0 or 7, day-or-weekday."""
    assert next_occurrence(Recurrence(every="cron", cron=cron), after) == expected


def test_cron_in_a_zone() -> None:
    """Cron times are local in the recurrence's time zone."""
    rec = Recurrence(every="cron", cron="0 8 * * 1", timezone="America/New_York")
    assert next_occurrence(rec, utc(2026, 3, 4)) == ny(2026, 3, 9, 8)


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 8 * *", "five fields"),
        ("60 * * * *", "minute field"),
        ("* 24 * * *", "hour field"),
        ("* * 0 * *", "day of month field"),
        ("* * * 13 *", "month field"),
        ("* * * * 8", "day of week field"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "empty range"),
        ("x * * * *", "not a number"),
        ("* * * * fun", "not a number"),
    ],
)
def test_bad_cron_is_refused(cron: str, message: str) -> None:
    """A malformed cron expression is refused with the field that is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_cron(cron)


def test_cron_that_never_fires_is_an_error() -> None:
    """February 30 never comes: the search stops with an error instead of looping."""
    with pytest.raises(ValueError, match="never fires"):
        next_occurrence(Recurrence(every="cron", cron="0 0 30 2 *"), utc(2026, 1, 1))


@pytest.mark.parametrize(
    ("rec", "message"),
    [
        (Recurrence(every="hourly"), "every 'hourly'"),
        (Recurrence(every="daily", at="8:00am"), "HH:MM"),
        (Recurrence(every="weekly", weekday=7), "weekday 7"),
        (Recurrence(every="monthly", day=0), "day 0"),
        (Recurrence(every="daily", timezone="Nowhere/City"), "unknown time zone"),
    ],
)
def test_bad_recurrence_is_refused(rec: Recurrence, message: str) -> None:
    """validate_recurrence names what is wrong with a recurrence."""
    with pytest.raises(ValueError, match=message):
        validate_recurrence(rec)


def test_naive_datetime_is_refused() -> None:
    """Occurrences are computed from aware datetimes only."""
    with pytest.raises(ValueError, match="naive"):
        next_occurrence(DAILY_8, datetime(2026, 3, 2))


def test_period_start_is_the_latest_occurrence_at_or_before() -> None:
    """The weekly batch period containing Wednesday began on Monday 08:00; at 08:00 it is now."""
    rec = Recurrence(every="weekly", weekday=0, at="08:00")
    assert period_start(rec, utc(2026, 3, 4, 12)) == utc(2026, 3, 2, 8)
    assert period_start(rec, utc(2026, 3, 9, 8)) == utc(2026, 3, 9, 8)
    assert period_start(rec, utc(2026, 3, 9, 7, 59)) == utc(2026, 3, 2, 8)


def test_batch_sent_at_an_occurrence_covers_since_the_previous() -> None:
    """The batch sent at an occurrence covers [previous occurrence, occurrence): the contacts
    who reached the step since the previous list went out."""
    rec = Recurrence(every="monthly", day=31, at="06:00")
    sent = utc(2026, 3, 31, 6)
    assert previous_occurrence(rec, sent) == utc(2026, 2, 28, 6)


# --- properties ---------------------------------------------------------------------------

recurrences = st.one_of(
    st.builds(
        Recurrence,
        every=st.just("daily"),
        at=st.sampled_from(["00:00", "01:30", "02:30", "08:00", "23:59"]),
        timezone=st.sampled_from(["UTC", "America/New_York", "Europe/Paris"]),
    ),
    st.builds(
        Recurrence,
        every=st.just("weekly"),
        weekday=st.integers(0, 6),
        at=st.sampled_from(["02:30", "08:00"]),
        timezone=st.sampled_from(["UTC", "America/New_York"]),
    ),
    st.builds(
        Recurrence,
        every=st.just("monthly"),
        day=st.integers(1, 31),
        timezone=st.sampled_from(["UTC", "America/New_York"]),
    ),
    st.builds(
        Recurrence,
        every=st.just("cron"),
        cron=st.sampled_from(["*/20 * * * *", "0 8 * * 1-5", "30 1,2 * * *", "0 0 13 * 5"]),
        timezone=st.sampled_from(["UTC", "America/New_York"]),
    ),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(recurrences, moments)
def test_next_and_previous_bracket_the_moment(rec: Recurrence, moment: datetime) -> None:
    """previous < moment < next, nothing fires between them, and they invert each other."""
    after = next_occurrence(rec, moment)
    before = previous_occurrence(rec, moment)
    assert before < moment < after
    assert previous_occurrence(rec, after) == period_start(rec, moment) <= moment
    assert next_occurrence(rec, period_start(rec, moment)) == after
    assert after - before <= timedelta(days=62)
