"""Clocks: the manual clock never goes backwards; --now text is parsed to aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fulfil.engine.clock import Clock, ManualClock, SystemClock, parse_now
from fulfil.engine.clock.clocks import parse_moment
from fulfil.engine.errors import ClockError, UsageError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_manual_clock_moves_forward_only() -> None:
    """advance and set move the clock; going backwards is a ClockError."""
    clock = ManualClock(T0)
    assert clock.advance(timedelta(days=1)) == T0 + timedelta(days=1)
    assert clock.set(T0 + timedelta(days=2)) == clock.now()
    with pytest.raises(ClockError, match="backwards"):
        clock.set(T0)
    with pytest.raises(ClockError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == T0 + timedelta(days=2)


def test_clocks_give_aware_utc() -> None:
    """Both clocks satisfy the protocol and return aware UTC times; naive input means UTC."""
    assert isinstance(SystemClock(), Clock) and SystemClock().now().tzinfo is UTC
    assert ManualClock(datetime(2026, 1, 1)).now() == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02", datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-03-02T09:00:00Z", T0),
        ("2026-03-02T10:00:00+01:00", T0),
        ("2026-03-02T09:00", T0),
    ],
)
def test_parse_now(text: str, expected: datetime) -> None:
    """ISO dates and datetimes parse to aware UTC."""
    parsed = parse_now(text)
    assert parsed == expected and parsed.tzinfo is UTC


def test_parse_now_rejects_other_text() -> None:
    """Text that is not ISO-8601 is a ClockError with an example."""
    with pytest.raises(ClockError, match="2026-03-01T09:30:00Z"):
        parse_now("next tuesday")


def test_parse_moment_reads_a_search_bound_or_names_the_option() -> None:
    """A search bound (CLI option, form or JSON field): a date or time, None when not given,
    else a usage error naming where it was given."""
    assert parse_moment(None, "--started-after") is None
    assert parse_moment("", "started after") is None
    assert parse_moment("2026-03-01", "x") == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match=r"--started-after takes a date or a time .*'yesterday'"):
        parse_moment("yesterday", "--started-after")
