"""Static timing analysis: how long an instance takes to get somewhere when nobody acts.

Only timer edges are followed: a timer of a state fires its trigger, and the transitions of
that trigger from the state lead on. An `after` timer takes its duration (in a business
calendar: that much working time); an `at` timer depends on its expression; an `every` timer
and a batch step wait for the next occurrence. A timer never fires when a competing `after`
timer of the same state (same calendar) is shorter and always leaves or re-enters the state
(one of its transitions has neither guard nor `requires`): leaving cancels the others.

`timing` reports, from the initial state and from every state a person's action enters, the
shortest and longest time to each state reached by timers alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..model import Process, Recurrence, State, Timer, Transition

__all__ = ["Dominated", "Leg", "Reach", "Span", "TimingReport", "dominated_timers", "timing"]

MAX_PATHS = 5_000  # simple paths enumerated per origin; timer graphs are small
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def human_duration(value: timedelta) -> str:
    """A duration in words: `14 days`, `1 day 12 hours`, `90 minutes` -> `1 hour 30 minutes`."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "at once"
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count > 1 else ''}")
    return " ".join(parts)


def describe_recurrence(rec: Recurrence) -> str:
    """A recurrence in words, e.g. `weekly occurrence (mon 08:00 UTC)`."""
    if rec.every == "cron":
        return f"cron occurrence `{rec.cron}` ({rec.timezone})"
    when = {"weekly": f"{_WEEKDAYS[rec.weekday % 7]} ", "monthly": f"day {rec.day} "}
    return f"{rec.every} occurrence ({when.get(rec.every, '')}{rec.at} {rec.timezone})"


@dataclass(frozen=True)
class Dominated:
    """A timer that never fires: `by`, shorter, always leaves its state first."""

    state: str
    timer: Timer
    by: Timer

    def message(self) -> str:
        """Why the timer never fires."""
        assert self.timer.after is not None and self.by.after is not None
        return (
            f"timer '{self.timer.name}' of state '{self.state}' (after "
            f"{human_duration(self.timer.after)}) can never fire: timer '{self.by.name}' (after "
            f"{human_duration(self.by.after)}) always fires first and leaves the state"
        )


def _always_moves(process: Process, state: str, trigger: str) -> bool:
    # an internal transition stays: the other timers of the state keep running
    return any(
        t.guard is None and not t.requires and not t.internal
        for t in process.transitions_from(state)
        if t.trigger == trigger
    )


def _dominated_in(process: Process, state: State) -> Iterator[Dominated]:
    timed = [t for t in state.timers if t.after is not None]
    for timer in timed:
        assert timer.after is not None
        rivals = [
            other
            for other in timed
            if other is not timer
            and other.calendar == timer.calendar
            and other.after is not None
            and other.after < timer.after
            and other.unless is None  # a timer its condition may spend pre-empts nothing
            and _always_moves(process, state.name, other.trigger)
        ]
        if rivals:
            yield Dominated(state.name, timer, min(rivals, key=lambda r: r.after or timedelta()))


def dominated_timers(process: Process) -> list[Dominated]:
    """Every timer a shorter competing timer of its state always pre-empts."""
    return [found for state in process.states for found in _dominated_in(process, state)]


@dataclass(frozen=True)
class Leg:
    """One timer edge: `name` fires in `source` and `transition` leads to `dest`.

    `fixed` is the wall-clock time it takes; `term` describes a time that depends on something
    else (an `at` expression, a recurrence, business time), or is "" when `fixed` says it all.
    """

    source: str
    dest: str
    name: str
    fixed: timedelta
    term: str
    transition: Transition


def _leg_time(timer: Timer) -> tuple[timedelta, str]:
    if timer.after is not None and timer.calendar is None:
        return timer.after, ""
    if timer.after is not None:
        return timedelta(0), f"{human_duration(timer.after)} of working time ({timer.calendar})"
    if timer.idle is not None:  # when nobody acts, it is due its time after the entry
        if timer.calendar is None:
            return timer.idle, ""
        return timedelta(0), f"{human_duration(timer.idle)} of working time ({timer.calendar})"
    if timer.at is not None:
        return timedelta(0), f"depends on `{timer.at.source}`"
    assert timer.every is not None
    return timedelta(0), f"at the next {describe_recurrence(timer.every)}"


def _targets(process: Process, state: str, trigger: str) -> list[Transition]:
    """The transitions a timer's trigger may take, up to the first that always fires."""
    out: list[Transition] = []
    for t in process.transitions_from(state):
        if t.trigger != trigger:
            continue
        out.append(t)
        if t.guard is None and not t.requires:
            break
    return out


def timer_legs(process: Process) -> list[Leg]:
    """Every timer edge of the process, except those of timers that can never fire."""
    dead = {(d.state, d.timer.name) for d in dominated_timers(process)}
    legs: list[Leg] = []
    for state in process.states:
        clocks: list[tuple[str, str, timedelta, str]] = [
            (timer.name, timer.trigger, *_leg_time(timer))
            for timer in state.timers
            if (state.name, timer.name) not in dead
        ]
        if state.batch is not None:
            term = f"at the next {describe_recurrence(state.batch.every)} (batch)"
            clocks.append(("batch", state.batch.trigger, timedelta(0), term))
        for name, trigger, fixed, term in clocks:
            for t in _targets(process, state.name, trigger):
                legs.append(Leg(state.name, t.target(state.name), name, fixed, term, t))
    return legs


@dataclass(frozen=True)
class Span:
    """A time along a path: a fixed part plus the parts that depend on something else."""

    fixed: timedelta
    terms: tuple[str, ...] = ()
    via: tuple[str, ...] = ()  # the timers fired along the path, in order

    def text(self) -> str:
        """E.g. `14 days` or `7 days, then depends on `effective_date``."""
        if not self.terms:
            return human_duration(self.fixed)
        head = "" if not self.fixed else f"{human_duration(self.fixed)}, then "
        return head + ", then ".join(self.terms)


@dataclass(frozen=True)
class Reach:
    """From `origin`, `target` is reached by timers alone in `shortest` to `longest`.

    `longest` is None when a loop of timers can delay the arrival without bound.
    """

    origin: str
    target: str
    terminal: bool
    shortest: Span
    longest: Span | None

    def text(self) -> str:
        """E.g. `escalated: 14 days (via remind, remind)`."""
        short = f"{self.shortest.text()} (via {', '.join(self.shortest.via)})"
        if self.longest is None:
            span = f"{short}; no upper bound (a timer loop can delay it)"
        elif self.longest == self.shortest or self.longest.text() == self.shortest.text():
            span = short
        else:
            span = f"at least {short}, at most {self.longest.text()}"
        kind = " (terminal)" if self.terminal else ""
        return f"{self.target}{kind}: {span}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values; durations in seconds."""
        longest = self.longest
        return {
            "from": self.origin,
            "to": self.target,
            "terminal": self.terminal,
            "shortest": self.shortest.text(),
            "shortest_seconds": int(self.shortest.fixed.total_seconds()),
            "via": list(self.shortest.via),
            "longest": None if longest is None else longest.text(),
            "longest_seconds": None if longest is None else int(longest.fixed.total_seconds()),
        }


def _paths(origin: str, legs: list[Leg]) -> Iterator[tuple[str, Span]]:
    """(target, span) for every simple timer path leaving `origin`."""
    out: dict[str, list[Leg]] = {}
    for leg in legs:
        out.setdefault(leg.source, []).append(leg)
    stack: list[tuple[str, tuple[Leg, ...]]] = [(origin, ())]
    count = 0
    while stack and count < MAX_PATHS:
        state, path = stack.pop()
        seen = {origin, *(leg.dest for leg in path)}
        for leg in out.get(state, ()):
            if leg.dest in seen:
                continue
            longer = (*path, leg)
            count += 1
            fixed = sum((step.fixed for step in longer), timedelta())
            terms = tuple(step.term for step in longer if step.term)
            yield leg.dest, Span(fixed, terms, tuple(step.name for step in longer))
            stack.append((leg.dest, longer))


def _reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _looping(legs: list[Leg]) -> set[str]:
    """The states on a loop of timer edges."""
    edges: dict[str, set[str]] = {}
    for leg in legs:
        edges.setdefault(leg.source, set()).add(leg.dest)
    return {s for s in edges if any(s in _reachable(n, edges) for n in edges[s])}


@dataclass(frozen=True)
class TimingReport:
    """The result of `timing`: reaches by origin, and the timers that can never fire."""

    process: str
    reaches: tuple[Reach, ...]
    dominated: tuple[Dominated, ...]

    def lines(self) -> list[str]:
        """The report as text lines."""
        out = [f"timing of {self.process} (when nobody acts, timers only):"]
        origin = None
        for reach in self.reaches:
            if reach.origin != origin:
                origin = reach.origin
                out.append(f"  from {origin}:")
            out.append(f"    {reach.text()}")
        if not self.reaches:
            out.append("  no state is reached by timers alone")
        for dead in self.dominated:
            out.append(f"  {dead.timer.loc}: {dead.message()}")
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "process": self.process,
            "reaches": [r.to_json() for r in self.reaches],
            "timers_never_fire": [
                {
                    "state": d.state,
                    "timer": d.timer.name,
                    "by": d.by.name,
                    "location": str(d.timer.loc),
                }
                for d in self.dominated
            ],
        }


def origins(process: Process) -> list[str]:
    """The initial state and every state a person's action (not a timer) enters, in order."""
    timer_triggers = {
        (state.name, trigger)
        for state in process.states
        for trigger in [t.trigger for t in state.timers]
        + ([state.batch.trigger] if state.batch else [])
    }
    entered = {process.initial.name}
    for t in process.transitions:
        if t.dest is not None and any(
            (source, t.trigger) not in timer_triggers for source in t.sources
        ):
            entered.add(t.dest)
    return [s.name for s in process.states if s.name in entered]


def timing(process: Process, *, start: Sequence[str] | None = None) -> TimingReport:
    """Shortest and longest times to every state reached by timers alone, from each origin.

    Args:
        process: the process definition.
        start: the states to measure from; default: the initial state and every state a
            person's action enters.

    Returns:
        The reaches from the initial state and from every state a person's action enters, and
        the timers a competing timer always pre-empts.
    """
    legs = timer_legs(process)
    loops = _looping(legs)
    edges: dict[str, set[str]] = {}
    for leg in legs:
        edges.setdefault(leg.source, set()).add(leg.dest)
    terminal = {s.name for s in process.states if s.terminal}
    reaches: list[Reach] = []
    for origin in origins(process) if start is None else start:
        spans: dict[str, list[Span]] = {}
        for target, span in _paths(origin, legs):
            spans.setdefault(target, []).append(span)
        ahead = _reachable(origin, edges)
        for state in process.states:
            found = spans.get(state.name)
            if not found:
                continue
            shortest = min(found, key=lambda s: (s.fixed, len(s.terms), len(s.via)))
            unbounded = any(
                loop in ahead and state.name in _reachable(loop, edges) for loop in loops
            )
            longest = None if unbounded else max(found, key=lambda s: (s.fixed, len(s.terms)))
            reaches.append(Reach(origin, state.name, state.name in terminal, shortest, longest))
    return TimingReport(process.id, tuple(reaches), tuple(dominated_timers(process)))
