"""The state graph of a process as a networkx MultiDiGraph, and the indexes the checks share.

States are nodes; every transition gives one edge per (source, dest) pair (an internal one, without
dest, a loop on its source), and every timer gives one edge per transition it can fire from its
state, so timers count as ways forward. Sources and
destinations that name no state are left out of the graph (the unknown-state check reports them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx

from ...model import Process, State, Timer, Transition
from .references import At

ANY_STATE = "*"  # `source: "*"` means every non-terminal state


def expand_sources(process: Process, transition: Transition) -> tuple[str, ...]:
    """The sources of a transition with `*` replaced by every non-terminal state."""
    if ANY_STATE not in transition.sources:
        return transition.sources
    expanded = [s.name for s in process.states if not s.terminal]
    expanded += [s for s in transition.sources if s != ANY_STATE and s not in expanded]
    return tuple(expanded)


@dataclass
class ProcessIndex:
    """Lookups built once per process so that every check stays linear in its size."""

    states: dict[str, State]
    at: At = field(default_factory=lambda: At(None))  # points problems at the offending value
    outgoing: dict[str, list[Transition]] = field(default_factory=lambda: defaultdict(list))
    handled: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def handlers(self, state: str, trigger: str) -> Iterator[Transition]:
        """The transitions from `state` on `trigger`."""
        return (t for t in self.outgoing.get(state, ()) if t.trigger == trigger)


def index_process(process: Process, at: At | None = None) -> ProcessIndex:
    """Index a process's states and its transitions by source state; `at` locates values."""
    index = ProcessIndex(states={s.name: s for s in process.states}, at=at or At(None))
    for transition in process.transitions:
        for source in expand_sources(process, transition):
            index.outgoing[source].append(transition)
            index.handled[source].add(transition.trigger)
    return index


def timer_targets(index: ProcessIndex, state: str, timer: Timer) -> list[Transition]:
    """The transitions a timer of `state` can fire (none when its trigger is unhandled)."""
    return list(index.handlers(state, timer.trigger))


def build_graph(process: Process, index: ProcessIndex | None = None) -> nx.MultiDiGraph:
    """The state graph: nodes are state names; edges carry `kind`, `trigger` and the model object.

    Edge attributes: `kind` is "transition" or "timer"; `trigger` the trigger; `transition` the
    Transition; `timer` the Timer for timer edges.
    """
    index = index or index_process(process)
    graph = nx.MultiDiGraph(process=process.id)
    for state in process.states:
        graph.add_node(state.name, state=state)
    for source, transitions in index.outgoing.items():
        if source not in index.states:
            continue
        for transition in transitions:
            if transition.target(source) in index.states:
                graph.add_edge(
                    source,
                    transition.target(source),
                    kind="transition",
                    trigger=transition.trigger,
                    transition=transition,
                )
    timed = [(state.name, timer) for state in process.states for timer in state.timers]
    # a compound state's timers run in every state inside it
    timed += [
        (leaf, timer)
        for compound in process.compounds
        for timer in compound.timers
        for leaf in process.leaves_of(compound.name)
    ]
    for name, timer in timed:
        for transition in timer_targets(index, name, timer):
            if transition.target(name) in index.states:
                graph.add_edge(
                    name,
                    transition.target(name),
                    kind="timer",
                    trigger=timer.trigger,
                    transition=transition,
                    timer=timer,
                )
    return graph
