"""Automatic transitions (written without a trigger) must not be able to loop.

The engine takes an automatic transition as soon as its guard holds after a step, then looks
again from where it went: a cycle of automatic transitions (an internal one, or one back to its
own state, is a cycle of one) could run for ever within one event. Guards are not trusted to
end it: any cycle among them is an error, at the first of its transitions, naming its states.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from ...errors import Problem
from ...model import Process, Transition

__all__ = ["check_automatic_cycles"]


def _automatic_graph(process: Process) -> nx.DiGraph:
    graph = nx.DiGraph()
    for transition in process.transitions:
        if not transition.automatic:
            continue
        for source in transition.sources:
            target = transition.target(source)
            if graph.has_edge(source, target):
                continue
            graph.add_edge(source, target, transition=transition)
    return graph


def check_automatic_cycles(process: Process) -> Iterator[Problem]:
    """Error for each group of states that automatic transitions can go round."""
    graph = _automatic_graph(process)
    if not graph:
        return
    for group in nx.strongly_connected_components(graph):
        if len(group) == 1 and not any(graph.has_edge(n, n) for n in group):
            continue
        inside: list[Transition] = []
        for source, target, transition in graph.edges(data="transition"):
            if source in group and target in group and transition not in inside:
                inside.append(transition)
        first = min(inside, key=lambda t: process.transitions.index(t))
        cycle = [source for source, _ in nx.find_cycle(graph.subgraph(group))]
        shown = " -> ".join([*cycle, cycle[0]])
        yield Problem(
            first.loc,
            f"automatic transitions can loop: {shown}; the engine would take them again "
            "and again within one event",
            hint="give one of them a trigger, or let the loop end in a state with no automatic "
            "transition back",
        )
