"""Business time: working hours on working days in a time zone, minus holidays.

`BusinessCalendar` answers three questions over an `engine.model.Calendar`: is a moment within
working hours, when does work next resume, and when is something due that takes a given amount
of working time ("respond within an hour during working hours, otherwise the next working day").
Every input is an aware datetime; every output is an aware UTC datetime.

Conventions, pinned by tests/clock/test_calendar.py:

* A working period is `[start, end)` in local wall-clock time on a working day; `is_working` is
  true inside it. Working hours follow the local clock across daylight-saving changes (09:00-17:00
  local stays 09:00-17:00 local; the UTC times shift).
* `add(dt, d)` returns the earliest moment by which `d` of working time has elapsed since `dt`.
  When `d` is used up exactly at the end of a period the result *is* that end (16:00 + 1h is
  17:00 the same day, not 09:00 the next): a due time may equal the close of business. Otherwise
  results lie inside a working period. `add(dt, 0)` is `next_working(dt)`.
* A duration that is a whole number of days (`1d`, `24h`, `2w`, `P1D`) counts *working days*: N
  days are N times the working-day length (8h for 09:00-17:00). So `2d` from Monday 10:00 is
  Wednesday 10:00, and `1w` is seven working days; write `5d` for a business week. Any other
  duration (`90m`, `1h`, `36h`) counts working time as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from ..frozen import frozen
from ..model import Calendar

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = ["BusinessCalendar", "parse_clock_time", "zone"]

_DAY = timedelta(days=1)
# With at least one weekday and finitely many holidays a working day always comes; this bound
# only turns a would-be endless loop (every day in a long stretch a holiday) into an error.
_MAX_IDLE_DAYS = 3 * 366


def zone(name: str) -> ZoneInfo:
    """The time zone called `name` (an IANA name such as `America/New_York`).

    Raises:
        ValueError: no such time zone.
    """
    # zoneinfo reads the interpreter's configuration when imported: only once a zone is asked for
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone '{name}' (use an IANA name, e.g. Europe/Paris)"
        ) from None


def parse_clock_time(text: str, *, allow_24: bool = False) -> time:
    """Parse a local time of day written `HH:MM` (with `24:00` allowed when `allow_24`).

    `24:00` is returned as `time.max`, standing for the end of the day.

    Raises:
        ValueError: the text is not `HH:MM` within a day.
    """
    hours, sep, minutes = text.strip().partition(":")
    if sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2:
        h, m = int(hours), int(minutes)
        if allow_24 and (h, m) == (24, 0):
            return time.max
        if 0 <= h < 24 and 0 <= m < 60:
            return time(h, m)
    raise ValueError(f"bad time of day '{text}': write HH:MM, e.g. 09:00")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone-aware datetime")
    return moment.astimezone(UTC)


@frozen
class BusinessCalendar:
    """Working time in one time zone.

    Attributes:
        tz: the calendar's time zone.
        weekdays: the working weekdays, Monday = 0.
        start: the local time work starts.
        end: the local time work stops (`time.max` for midnight at the end of the day).
        holidays: local dates that are not working days.
    """

    tz: ZoneInfo
    weekdays: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date]

    @classmethod
    def from_model(cls, cal: Calendar) -> BusinessCalendar:
        """Build the calendar a process declares.

        Raises:
            ValueError: unknown time zone, bad hours (end not after start), no working weekday,
                weekday outside 0-6, or a holiday that is not an ISO date.
        """
        start = parse_clock_time(cal.start)
        end = parse_clock_time(cal.end, allow_24=True)
        if end <= start:
            raise ValueError(
                f"calendar '{cal.name}': working hours {cal.start}-{cal.end} must end after they "
                "start (overnight hours are not supported)"
            )
        if not cal.weekdays or any(not 0 <= d <= 6 for d in cal.weekdays):
            raise ValueError(
                f"calendar '{cal.name}': weekdays must be a non-empty list of days (Monday = 0)"
            )
        try:
            holidays = frozenset(date.fromisoformat(h) for h in cal.holidays)
        except ValueError:
            raise ValueError(
                f"calendar '{cal.name}': holidays must be ISO dates such as 2026-12-25"
            ) from None
        return cls(zone(cal.timezone), frozenset(cal.weekdays), start, end, holidays)

    @property
    def day_length(self) -> timedelta:
        """The nominal length of a working day (wall clock), e.g. 8h for 09:00-17:00."""
        return _wall(self.end) - _wall(self.start)

    def is_working_day(self, day: date) -> bool:
        """Whether the local date `day` is a working weekday and not a holiday."""
        return day.weekday() in self.weekdays and day not in self.holidays

    def period(self, day: date) -> tuple[datetime, datetime]:
        """The UTC bounds `[start, end)` of the working period on the local date `day`.

        The day need not be a working day; check with `is_working_day`.
        """
        opens = datetime.combine(day, self.start, tzinfo=self.tz)
        closes = (
            datetime.combine(day + _DAY, time(), tzinfo=self.tz)
            if self.end == time.max
            else datetime.combine(day, self.end, tzinfo=self.tz)
        )
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def is_working(self, dt: datetime) -> bool:
        """Whether `dt` lies within working hours (start inclusive, end exclusive)."""
        moment = _utc(dt)
        day = moment.astimezone(self.tz).date()
        if not self.is_working_day(day):
            return False
        opens, closes = self.period(day)
        return opens <= moment < closes

    def next_working(self, dt: datetime) -> datetime:
        """`dt` itself (in UTC) if within working hours, else the start of the next period."""
        return self.add_working_time(dt, timedelta(0))

    def add(self, dt: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `dt` (see the module docstring).

        Args:
            dt: the start, an aware datetime (anywhere, in or out of working hours).
            duration: non-negative, as written in a definition; whole days count working days.

        Returns:
            An aware UTC datetime within a working period or at its end.

        Raises:
            ValueError: negative duration or naive datetime.
        """
        return self.add_working_time(dt, self.working_time(duration))

    def add_working_time(self, dt: datetime, working: timedelta) -> datetime:
        """The earliest moment by which `working` of working time has elapsed since `dt`.

        Unlike `add`, whole days are not reinterpreted: `timedelta(days=1)` is 24 working hours.

        Raises:
            ValueError: negative duration or naive datetime.
        """
        if working < timedelta(0):
            raise ValueError(f"business time cannot go backwards ({working})")
        remaining = working
        moment = _utc(dt)
        for opens, closes in self._periods_from(moment):
            if moment >= closes:
                continue
            begin = max(moment, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def working_time(self, duration: timedelta) -> timedelta:
        """The working time a duration stands for: whole days become working days."""
        whole_days, rest = divmod(duration, _DAY)
        if rest or not whole_days:
            return duration
        return whole_days * self.day_length

    def _periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods in order, from the local day of `moment` on."""
        day = moment.astimezone(self.tz).date()
        idle = 0
        while True:
            if self.is_working_day(day):
                idle = 0
                yield self.period(day)
            else:
                idle += 1
                if idle > _MAX_IDLE_DAYS:
                    raise ValueError(f"no working day for {_MAX_IDLE_DAYS} days after {day}")
            day += _DAY


def _wall(moment: time) -> timedelta:
    if moment == time.max:
        return _DAY
    return timedelta(hours=moment.hour, minutes=moment.minute)
