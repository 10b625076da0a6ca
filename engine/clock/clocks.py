"""Clocks: where the engine reads the time. Engine code never calls `datetime.now()` itself.

`SystemClock` reads the machine's clock; `ManualClock` is set by hand (tests, scenarios, the
CLI's `--now`) and refuses to go backwards, so a replayed scenario cannot reorder history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable

from ..errors import ClockError, UsageError

__all__ = ["Clock", "ManualClock", "SystemClock", "parse_moment", "parse_now"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class ManualClock:
    """A clock that only moves when told to, and never backwards.

    Args:
        start: the initial time; a naive datetime is taken as UTC.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        """The time the clock was last set to."""
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ClockError(f"the clock cannot go backwards (advance by {delta})")
        self._now = self._now + delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Move the clock to `moment`, which must not be earlier than the current time."""
        moment = _aware(moment)
        if moment < self._now:
            raise ClockError(
                f"the clock cannot go backwards from {self._now.isoformat()} "
                f"to {moment.isoformat()}"
            )
        self._now = moment
        return self._now


def parse_now(text: str) -> datetime:
    """Parse an ISO-8601 date or datetime (as given to `--now`) into an aware UTC datetime.

    A bare date means midnight UTC; a time without an offset is taken as UTC.

    Raises:
        ClockError: the text is not an ISO-8601 date or datetime.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return _aware(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise ClockError(
            f"'{text}' is not an ISO-8601 time; write e.g. 2026-03-01 or 2026-03-01T09:30:00Z"
        ) from None


def parse_moment(text: str | None, label: str) -> datetime | None:
    """A search bound as a caller gives it (`--started-after`, a form or JSON field named
    `label`): an ISO-8601 date or time (`parse_now`), None when not given.

    Raises:
        UsageError: the text is not a date or time; the message names `label`.
    """
    if not text:
        return None
    try:
        return parse_now(text)
    except ClockError:
        raise UsageError(
            f"{label} takes a date or a time (ISO-8601), e.g. 2026-03-01 or "
            f"2026-03-01T09:30:00Z (got '{text}')"
        ) from None
