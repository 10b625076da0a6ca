"""Time: the clock the engine reads, durations, business calendars and recurrences.

clocks        `Clock`, `SystemClock`, `ManualClock`, `parse_now`: the engine reads time only
              through a clock
durations     `14d`, `2h30m` to and from `timedelta`; the retry backoff
calendars     business time: working hours, holidays, time zones
recurrence    daily, weekly, monthly and cron recurrences, on a calendar
"""

from __future__ import annotations

from .clocks import Clock, ManualClock, SystemClock, parse_now

__all__ = ["Clock", "ManualClock", "SystemClock", "parse_now"]
