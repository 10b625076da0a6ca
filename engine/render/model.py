"""The diagram model: plain dataclasses extracted once from a Process, read by every renderer.

Extraction decides what a diagram shows; renderers only decide how. A transition whose trigger
is fired by a timer (or a batch step) of its source state becomes a timer edge labelled with
when it fires, so that renderers can draw it dashed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from ..model import Process, Recurrence, State, Timer
from ..validate.graphmodel import expand_sources


@dataclass(frozen=True)
class Node:
    """A state as drawn."""

    name: str
    status: str = ""
    closure_reason: str = ""
    initial: bool = False
    terminal: bool = False
    waiting: bool = False
    queue: str | None = None
    owner: str | None = None
    timed: bool = False  # it has timers or a batch step

    @property
    def caption(self) -> str:
        """`Status / Closure reason`, or whichever of the two is set."""
        return " / ".join(part for part in (self.status, self.closure_reason) if part)


@dataclass(frozen=True)
class Edge:
    """A transition from one source to its destination; `timer` is set for timer edges.

    An `internal` edge (a transition without dest) goes from the state to itself without
    leaving it: renderers mark it so that it is not mistaken for a self-loop restarting timers.
    """

    source: str
    dest: str
    trigger: str
    guard: str | None = None
    roles: tuple[str, ...] = ()
    timer: str | None = None  # e.g. "7d next_call_due"
    internal: bool = False

    @property
    def is_timer(self) -> bool:
        return self.timer is not None


@dataclass(frozen=True)
class TaskNode:
    """A child task of a request."""

    name: str
    process: str
    title: str = ""
    depends_on: tuple[str, ...] = ()
    indicator: bool = False


@dataclass(frozen=True)
class Diagram:
    """Everything a renderer draws for one process."""

    id: str
    version: int
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    tasks: tuple[TaskNode, ...] = ()

    @property
    def initial(self) -> str | None:
        return next((n.name for n in self.nodes if n.initial), None)


def format_duration(value: timedelta) -> str:
    """A compact duration: `7d`, `24h`; `90m` shows as `1h30m` and `36h` as `1d12h`."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0m"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_recurrence(every: Recurrence) -> str:
    """`daily 08:00`, `weekly mon 08:00`, `monthly day 1 08:00` or `cron 0 8 * * 1`."""
    if every.every == "cron":
        return f"cron {every.cron}"
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    if every.every == "weekly":
        return f"weekly {days[every.weekday % 7]} {every.at}"
    if every.every == "monthly":
        return f"monthly day {every.day} {every.at}"
    return f"{every.every} {every.at}"


def timer_when(timer: Timer) -> str:
    """When a timer fires: `7d`, `1h business (office)`, `at <expr>` or `every daily 08:00`."""
    if timer.after is not None:
        when = format_duration(timer.after)
        return f"{when} business ({timer.calendar})" if timer.calendar else when
    if timer.at is not None:
        return f"at {timer.at.source}"
    if timer.every is not None:
        return f"every {format_recurrence(timer.every)}"
    return "?"


def timer_labels(state: State) -> dict[str, list[str]]:
    """Trigger -> the labels of the timers (and batch step) of a state that fire it."""
    labels: dict[str, list[str]] = {}
    for timer in state.timers:
        labels.setdefault(timer.trigger, []).append(f"{timer_when(timer)} {timer.name}")
    if state.batch is not None:
        when = format_recurrence(state.batch.every)
        labels.setdefault(state.batch.trigger, []).append(f"every {when} batch")
    return labels


def _node(state: State) -> Node:
    return Node(
        name=state.name,
        status=state.status,
        closure_reason=state.closure_reason,
        initial=state.initial,
        terminal=state.terminal,
        waiting=state.waiting,
        queue=state.queue,
        owner=state.owner,
        timed=bool(state.timers or state.batch),
    )


def extract(process: Process) -> Diagram:
    """Build the diagram model of a process."""
    timed = {state.name: timer_labels(state) for state in process.states}
    edges: list[Edge] = []
    for transition in process.transitions:
        guard = transition.guard.source if transition.guard else None
        for source in expand_sources(process, transition):
            dest, stays = transition.target(source), transition.internal
            plain = Edge(source, dest, transition.trigger, guard, transition.roles, None, stays)
            labels = timed.get(source, {}).get(transition.trigger)
            if not labels:
                edges.append(plain)
            for label in labels or ():
                edges.append(replace(plain, timer=label))
    tasks = tuple(
        TaskNode(t.name, t.process, t.title, t.depends_on, t.indicator) for t in process.tasks
    )
    return Diagram(
        id=process.id,
        version=process.version,
        title=process.title,
        nodes=tuple(_node(s) for s in process.states),
        edges=tuple(edges),
        tasks=tasks,
    )
