"""When a state's timers are due, computed as the instance enters the state.

`schedule_timer` is the default `TimerScheduler`: `after` (in wall-clock time, or business time
with `calendar`), `at` (an expression giving a date or datetime; a date means midnight UTC) and
`every` (the next occurrence of a recurrence). Pass another scheduler to `Engine(...,
scheduler=...)` to change the policy; SLA and batch steps plug in beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol

from ..clock.calendars import BusinessCalendar
from ..errors import ExecutionError
from ..expressions import CompiledExpr
from ..frozen import frozen
from ..model import Sla, Timer

__all__ = [
    "ESCALATE",
    "OVERDUE",
    "CompiledTimer",
    "TimerScheduler",
    "is_sla_timer",
    "schedule_timer",
    "sla_timers",
]

OVERDUE = "sla.overdue"
"""The engine timer of an SLA's overdue notice (a dot: no declared timer is named so)."""
ESCALATE = "sla.escalate"
"""The engine timer of an SLA's escalation to the owner's manager."""


@frozen
class CompiledTimer:
    """A timer with its `at` expression compiled and its business calendar resolved."""

    timer: Timer
    at: CompiledExpr | None = None
    calendar: BusinessCalendar | None = None
    unless: CompiledExpr | None = None  # when it holds at the due time, the timer is spent

    def spent(self, variables: Mapping[str, Any]) -> bool:
        """Whether the timer, come due, is spent without firing: its `unless` holds."""
        return self.unless is not None and self.unless.evaluate(variables) is True


class TimerScheduler(Protocol):
    """Computes when a timer is due; None means "do not schedule it"."""

    def __call__(
        self, timer: CompiledTimer, variables: Mapping[str, Any], now: datetime
    ) -> datetime | None: ...


def _moment(value: Any, timer: Timer) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ExecutionError(
        f"timer '{timer.name}': `at` gave {value!r}, which is not a date or datetime"
    )


def schedule_timer(
    timer: CompiledTimer, variables: Mapping[str, Any], now: datetime
) -> datetime | None:
    """The due time of `timer` for an instance entering its state at `now` (for an `idle`
    timer: taking a step at `now` in its state).

    An `at` expression that reads unset fields gives None: the timer is not scheduled (there is
    nothing to be reminded of yet). A due time already in the past is returned as is; the engine
    notes it and the next tick fires it.
    """
    spec = timer.timer
    wait = spec.after if spec.after is not None else spec.idle
    if wait is not None:
        if timer.calendar is not None:
            return timer.calendar.add(now, wait)
        return now + wait
    if timer.at is not None:
        if any(variables.get(name, 0) is None for name in timer.at.names):
            return None
        return _moment(timer.at.evaluate(variables), spec)
    if spec.every is not None:
        from ..clock.recurrence import next_occurrence  # only a recurring timer

        return next_occurrence(spec.every, now)
    return None


def is_sla_timer(name: str) -> bool:
    """Whether a stored timer is one of the engine's SLA timers."""
    return name in (OVERDUE, ESCALATE)


def sla_timers(sla: Sla, calendars: Mapping[str, BusinessCalendar]) -> tuple[CompiledTimer, ...]:
    """The engine timer standing for an SLA on entering its state: the overdue notice at `due`
    (in the SLA's calendar if any). The escalation timer is armed when that notice fires."""
    calendar = calendars.get(sla.calendar) if sla.calendar else None
    return (CompiledTimer(Timer(OVERDUE, OVERDUE, after=sla.due), calendar=calendar),)
