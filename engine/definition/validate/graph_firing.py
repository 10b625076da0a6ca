"""Transitions nobody can fire: the engine fires their trigger, but never from their source.

A transition without `roles` whose trigger a timer or a fulfilment list of the process fires
is the engine's alone (definition.firing). It fires only from the states whose timers or list fire
that trigger; from any other source state nobody can fire it, neither a person nor the engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from ...errors import Problem
from ...model import Process
from ..firing import clock_fired, engine_fired
from .stategraph import ProcessIndex

__all__ = ["check_unfireable"]


def _clock_states(process: Process) -> dict[str, set[str]]:
    """Trigger -> the states whose timers or fulfilment list fire it."""
    out: dict[str, set[str]] = {}
    for compound in process.compounds:  # its timers fire in every state inside it
        for timer in compound.timers:
            out.setdefault(timer.trigger, set()).update(process.leaves_of(compound.name))
    for state in process.states:
        for timer in state.timers:
            out.setdefault(timer.trigger, set()).add(state.name)
        if state.batch is not None:
            out.setdefault(state.batch.trigger, set()).add(state.name)
    return out


def check_unfireable(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Error for each transition fired only by the clock from a state where no clock fires it."""
    clocked = clock_fired(process)
    anywhere = set(engine_fired(process)) - set(clocked)  # rules, emits: from any state
    where = _clock_states(process)
    for transition in process.transitions:
        trigger = transition.trigger
        if (
            transition.roles
            or trigger not in clocked
            or trigger in anywhere
            or transition.automatic
        ):
            continue
        missing = [s for s in transition.sources if s not in where[trigger]]
        if not missing:
            continue
        states = ", ".join(sorted(where[trigger]))
        yield Problem(
            transition.loc,
            f"nobody can fire '{trigger}' from {', '.join(map(repr, missing))}: its transition "
            f"names no roles, so only the engine fires it, and {clocked[trigger]} fires it only "
            f"in {states}",
            hint="name the roles that may fire it by hand in `roles`, or arm a timer there",
        )
