"""The diagram model: plain dataclasses extracted once from a Process, read by every renderer.

Extraction decides what a diagram shows; renderers only decide how. A transition whose trigger
is fired by a timer (or a batch step) of its source state becomes a timer edge labelled with
when it fires, so that renderers can draw it dashed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..clock.durations import format_duration
from ..definition.validate.stategraph import expand_sources
from ..model import (
    Action,
    AppendLine,
    AppendRow,
    Compound,
    CreateJob,
    Emit,
    Notify,
    Process,
    RecordActivity,
    Recurrence,
    SetField,
    StartProcess,
    State,
    Timer,
    Transition,
)


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
    parent: str | None = None  # the compound state it is drawn in
    entry: tuple[str, ...] = ()  # what its `on_enter` actions do, one line each
    exit: tuple[str, ...] = ()  # what its `on_exit` actions do

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
    # written on a compound state (drawn from its border): `source` is then its first state
    tail_group: str | None = None
    # going to a compound state (drawn to its border): `dest` is then its initial state
    head_group: str | None = None
    starts: tuple[str, ...] = ()  # the processes its `start` actions start

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
class Group:
    """A compound state as drawn: a box around its states."""

    name: str
    parent: str | None = None
    status: str = ""
    initial: str | None = None  # the child entered with it
    entry: tuple[str, ...] = ()
    exit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagram:
    """Everything a renderer draws for one process."""

    id: str
    version: int
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    tasks: tuple[TaskNode, ...] = ()
    groups: tuple[Group, ...] = ()  # compound states, outer ones before those inside them

    @property
    def initial(self) -> str | None:
        return next((n.name for n in self.nodes if n.initial), None)

    def members(self, group: str | None) -> tuple[list[Group], list[Node]]:
        """The compound and plain states drawn directly inside `group` (None: the top)."""
        return (
            [g for g in self.groups if g.parent == group],
            [n for n in self.nodes if n.parent == group],
        )


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
    if timer.idle is not None:
        when = f"idle {format_duration(timer.idle)}"
        return f"{when} business ({timer.calendar})" if timer.calendar else when
    return "?"


def timer_labels(state: State | Compound) -> dict[str, list[str]]:
    """Trigger -> the labels of the timers (and batch step) of a state that fire it."""
    labels: dict[str, list[str]] = {}
    for timer in state.timers:
        label = f"{timer_when(timer)} {timer.name}"
        if timer.unless is not None:  # the condition that spends it, as a guard is drawn
            label += f" [unless {timer.unless.source}]"
        labels.setdefault(timer.trigger, []).append(label)
    if isinstance(state, State) and state.batch is not None:
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
        parent=state.parent,
        entry=tuple(summarise(a) for a in state.on_enter),
        exit=tuple(summarise(a) for a in state.on_exit),
    )


def _group(compound: Compound) -> Group:
    return Group(
        compound.name,
        compound.parent,
        compound.status,
        compound.initial,
        tuple(summarise(a) for a in compound.on_enter),
        tuple(summarise(a) for a in compound.on_exit),
    )


def _starts(transition: Transition) -> tuple[str, ...]:
    """The processes a transition's `start` actions start (its label says so)."""
    return tuple(a.process for a in transition.actions if isinstance(a, StartProcess))


def _written_edges(
    process: Process, transition: Transition, timed: dict[str, dict[str, list[str]]]
) -> list[Edge]:
    """A process with compound states: one edge per source as written, from (and to) the
    border of a compound state."""
    edges: list[Edge] = []
    guard = transition.guard.source if transition.guard else None
    written = transition.declared_sources
    sources = expand_sources(process, transition) if "*" in written else written
    for name in sources:
        leaves = process.leaves_of(name)
        if not leaves:
            continue
        tail = name if process.find_compound(name) is not None else None
        if transition.internal:
            dest, head = leaves[0], tail
        else:
            dest = transition.dest or leaves[0]
            target = transition.declared_dest
            head = target if target and process.find_compound(target) is not None else None
        plain = Edge(
            leaves[0],
            dest,
            transition.trigger,
            guard,
            transition.roles,
            None,
            transition.internal,
            tail,
            head,
            _starts(transition),
        )
        # the timers of the state written and of the compound states around it fire it
        labels = [
            label
            for owner in (name, *process.ancestors(name))
            for label in timed.get(owner, {}).get(transition.trigger, ())
        ]
        edges += [replace(plain, timer=label) for label in labels] if labels else [plain]
    return edges


def extract(process: Process) -> Diagram:
    """Build the diagram model of a process."""
    timed = {state.name: timer_labels(state) for state in process.all_states()}
    edges: list[Edge] = []
    for transition in process.transitions:
        if process.compounds:
            edges += _written_edges(process, transition, timed)
            continue
        guard = transition.guard.source if transition.guard else None
        for source in expand_sources(process, transition):
            dest, stays = transition.target(source), transition.internal
            starts = _starts(transition)
            plain = Edge(source, dest, transition.trigger, guard, transition.roles, None, stays)
            plain = replace(plain, starts=starts)
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
        groups=tuple(_group(c) for c in process.compounds),
    )


def summarise(action: Action) -> str:
    """One line of plain text saying what an action does."""
    if isinstance(action, SetField):
        return f"set {action.field} = {action.value.source}"
    if isinstance(action, AppendLine):
        where = " (on the parent)" if action.to_parent else ""
        return f"append to {action.field}{where}: {action.line.source}"
    if isinstance(action, RecordActivity):
        outcome = f" with outcome {action.outcome.source}" if action.outcome else ""
        return f"record {action.kind}{outcome}"
    if isinstance(action, Notify):
        cc = f" cc {', '.join(action.cc)}" if action.cc else ""
        return f"{action.channel} to {', '.join(action.to)}{cc}: {action.subject.source}"
    if isinstance(action, Emit):
        return f"emit {action.trigger} to {action.target}"
    if isinstance(action, AppendRow):
        return f"add a row to sheet {action.sheet}"
    if isinstance(action, CreateJob):
        keys = ", ".join(key for key, _ in action.payload)
        return f"job {action.type} ({keys or 'no payload'}), completed by {action.on_complete}"
    if isinstance(action, StartProcess):
        given = ", ".join(f"{name} = {expr.source}" for name, expr in action.data)
        return f"start {action.process}" + (f" with {given}" if given else "")
    return type(action).__name__  # pragma: no cover - Action is a closed union
