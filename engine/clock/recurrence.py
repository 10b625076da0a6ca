"""When recurring timers and batch steps fire: daily, weekly, monthly, or a cron expression.

Occurrences are local wall-clock times in the recurrence's time zone; results are aware UTC
datetimes. Across daylight-saving changes a recurrence keeps its local time (08:00 stays 08:00
local). A local time skipped by a spring-forward change fires at the same offset as before the
change (02:30 becomes 03:30 daylight time); one repeated by a fall-back change fires once, at its
first occurrence.

Batch periods are half-open: the period containing `at` is `[period_start(at), next_occurrence(at))`
so the batch sent at an occurrence gathers what arrived since the previous one (every contact
that reached the step after the previous list went out).

Cron expressions have five fields (minute hour day-of-month month day-of-week) with `*`, numbers,
ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and English names for months and weekdays
(`jan`, `mon`); day-of-week 0 and 7 are Sunday. As in classic cron, when both day fields are
restricted a day matching either fires.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ..frozen import frozen
from ..model import Recurrence
from .calendars import parse_clock_time, zone

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

__all__ = [
    "CronSpec",
    "next_occurrence",
    "parse_cron",
    "period_start",
    "previous_occurrence",
    "validate_recurrence",
]

EVERY = ("daily", "weekly", "monthly", "cron")
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
# Feb 29 can be 8 years from the next one (2096 -> 2104); a cron that matches no day in this
# span never matches (e.g. `0 0 30 2 *`).
_MAX_SCAN_DAYS = 9 * 366
_MONTHS = {m.lower(): i for i, m in enumerate(_stdcal.month_abbr) if m}
_WEEKDAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@frozen
class CronSpec:
    """A parsed five-field cron expression; weekdays use cron numbering (Sunday = 0)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the cron fires on some time of the local date `day`."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.weekday() + 1) % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def times(self) -> tuple[time, ...]:
        """Every local time of day the cron fires at, in order."""
        return tuple(time(h, m) for h in self.hours for m in self.minutes)


def _parse_value(text: str, names: dict[str, int]) -> int:
    if text.isdigit():
        return int(text)
    if text.lower() in names:
        return names[text.lower()]
    raise ValueError(f"'{text}' is not a number")


def _parse_field(text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, slash, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 0
        if slash and step < 1:
            raise ValueError(f"bad step in '{part}'")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _parse_value(a, names), _parse_value(b, names)
        else:
            first = _parse_value(body, names)
            last = high if slash else first
        if not (low <= first <= last <= high):
            raise ValueError(f"'{part}' is outside {low}-{high} or an empty range")
        values.update(range(first, last + 1, step or 1))
    return values


@lru_cache(maxsize=256)
def parse_cron(text: str) -> CronSpec:
    """Parse a five-field cron expression such as `0 8 * * 1` (08:00 every Monday).

    Raises:
        ValueError: the expression is malformed; the message names the bad field.
    """
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(
            f"bad cron '{text}': expected five fields (minute hour day month weekday), "
            f"got {len(fields)}"
        )
    specs: tuple[tuple[str, int, int, dict[str, int]], ...] = (
        ("minute", 0, 59, {}),
        ("hour", 0, 23, {}),
        ("day of month", 1, 31, {}),
        ("month", 1, 12, _MONTHS),
        ("day of week", 0, 7, _WEEKDAYS),
    )
    parsed: list[set[int]] = []
    for raw, (label, low, high, names) in zip(fields, specs, strict=True):
        try:
            parsed.append(_parse_field(raw, low, high, names))
        except ValueError as exc:
            raise ValueError(f"bad cron '{text}': {label} field '{raw}': {exc}") from None
    minutes, hours, days, months, weekdays = parsed
    return CronSpec(
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(d % 7 for d in weekdays),
        days_restricted=not fields[2].startswith("*"),
        weekdays_restricted=not fields[4].startswith("*"),
    )


@frozen
class _Compiled:
    tz: ZoneInfo
    rec: Recurrence
    at: time
    cron: CronSpec | None

    def times_on(self, day: date) -> tuple[time, ...]:
        """The local times the recurrence fires at on `day` (none if it does not fire)."""
        rec = self.rec
        if self.cron is not None:
            return self.cron.times() if self.cron.matches_day(day) else ()
        if rec.every == "weekly" and day.weekday() != rec.weekday:
            return ()
        if rec.every == "monthly":
            last = _stdcal.monthrange(day.year, day.month)[1]
            if day.day != min(rec.day, last):
                return ()
        return (self.at,)

    def instants_on(self, day: date) -> list[datetime]:
        return [
            datetime.combine(day, t, tzinfo=self.tz).astimezone(UTC) for t in self.times_on(day)
        ]


@lru_cache(maxsize=256)
def _compile(rec: Recurrence) -> _Compiled:
    if rec.every not in EVERY:
        raise ValueError(f"bad recurrence every '{rec.every}': expected one of {', '.join(EVERY)}")
    if rec.every == "weekly" and not 0 <= rec.weekday <= 6:
        raise ValueError(f"bad weekly recurrence: weekday {rec.weekday} is not 0 (Monday)-6")
    if rec.every == "monthly" and not 1 <= rec.day <= 31:
        raise ValueError(f"bad monthly recurrence: day {rec.day} is not 1-31")
    cron = parse_cron(rec.cron) if rec.every == "cron" else None
    return _Compiled(zone(rec.timezone), rec, parse_clock_time(rec.at), cron)


def validate_recurrence(rec: Recurrence) -> None:
    """Check a recurrence can be computed.

    Raises:
        ValueError: unknown `every`, bad time, weekday, day, time zone or cron expression.
    """
    _compile(rec)


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: give a timezone-aware datetime")
    return moment.astimezone(UTC)


def _days(start: date, step: timedelta) -> Iterator[date]:
    day = start
    for _ in range(_MAX_SCAN_DAYS):
        yield day
        day += step


def next_occurrence(rec: Recurrence, after: datetime) -> datetime:
    """The first occurrence strictly after `after`, as an aware UTC datetime.

    Raises:
        ValueError: the recurrence is invalid or (a cron such as `0 0 30 2 *`) never fires.
    """
    compiled = _compile(rec)
    moment = _aware_utc(after)
    # Start a day early: around a daylight-saving change local days overlap in UTC.
    first = moment.astimezone(compiled.tz).date() - _DAY
    for day in _days(first, _DAY):
        later = [t for t in compiled.instants_on(day) if t > moment]
        if later:
            return min(later)
    raise ValueError(f"recurrence {rec} never fires after {moment.isoformat()}")


def previous_occurrence(rec: Recurrence, before: datetime) -> datetime:
    """The last occurrence strictly before `before`, as an aware UTC datetime.

    Raises:
        ValueError: the recurrence is invalid or never fires before `before`.
    """
    compiled = _compile(rec)
    moment = _aware_utc(before)
    first = moment.astimezone(compiled.tz).date() + _DAY
    for day in _days(first, -_DAY):
        earlier = [t for t in compiled.instants_on(day) if t < moment]
        if earlier:
            return max(earlier)
    raise ValueError(f"recurrence {rec} never fires before {moment.isoformat()}")


def period_start(rec: Recurrence, at: datetime) -> datetime:
    """The start of the batch period containing `at`: the latest occurrence at or before `at`.

    The period is `[period_start(rec, at), next_occurrence(rec, at))`; the batch sent at an
    occurrence `o` covers `[previous_occurrence(rec, o), o)`.
    """
    return previous_occurrence(rec, _aware_utc(at) + _TICK)
