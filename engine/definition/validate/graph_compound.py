"""Checks of compound states (states made of states), each a small function over the model.

Reachability and traps need nothing of their own: the graph has the plain states, with the
transitions written on a compound state copied to every state inside it, so an unreachable
state or a trap inside a compound state is found by the checks every state gets. What is
checked here is what only compound states can get wrong: the initial state of each level, a
transition into a compound state that has none, and an inner transition that overlaps one its
state inherits.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...errors import Problem
from ...model import Process, Transition
from .stategraph import ProcessIndex

__all__ = ["compound_problems"]


def check_compound_initial(process: Process) -> Iterator[Problem]:
    """Every compound state has an initial state among its children."""
    for compound in process.compounds:
        if compound.initial is None:
            yield Problem(
                compound.loc,
                f"compound state '{compound.name}' has no initial state: entering it would "
                "leave the instance nowhere",
                hint="mark one of its states `initial: true`: " + ", ".join(compound.children),
            )


def check_dest_without_initial(process: Process, index: ProcessIndex) -> Iterator[Problem]:
    """A transition into a compound state goes to its initial state, which must exist."""
    for transition in process.transitions:
        compound = process.find_compound(transition.dest or "")
        if compound is not None and compound.initial is None:
            yield Problem(
                index.at(transition.loc, "dest"),
                f"transition '{transition.trigger}' goes to compound state '{compound.name}', "
                "which has no initial state",
                hint=f"mark one of {compound.name}'s states `initial: true`, or go to one of "
                "them: " + ", ".join(compound.children),
            )


def check_compound_timers(process: Process, index: ProcessIndex) -> Iterator[Problem]:
    """A compound state's timer fires its trigger in whichever state inside it the instance
    is: every one of them must handle it."""
    for compound in process.compounds:
        inside = process.leaves_of(compound.name)
        for timer in compound.timers:
            missing = [s for s in inside if timer.trigger not in index.handled.get(s, ())]
            if missing:
                yield Problem(
                    index.at(timer.loc, "trigger"),
                    f"timer '{timer.name}' of compound state '{compound.name}' fires "
                    f"'{timer.trigger}', which no transition from "
                    + ", ".join(f"'{s}'" for s in missing)
                    + " handles",
                    hint=f"write the '{timer.trigger}' transition with `source: {compound.name}`",
                )


def _guard(transition: Transition) -> str | None:
    return " ".join(transition.guard.source.split()) if transition.guard else None


def check_inherited_overlap(process: Process, index: ProcessIndex) -> Iterator[Problem]:
    """Warn where an inner transition and one its state inherits on the same trigger both
    have guards, different ones: where both hold, the inner one is taken and the inherited
    one silently is not. (An inner transition without a guard, or with the same guard,
    replaces the inherited one there, as meant; an inherited one without a guard is the
    fallback when the inner guard is false.)"""
    seen: set[tuple[int, int]] = set()
    for state in process.states:
        if state.parent is None:
            continue
        outgoing = process.transitions_from(state.name)
        for inner in outgoing:
            if _guard(inner) is None:
                continue
            depth = process.depth_of(inner, state.name)
            for outer in outgoing:
                if outer.trigger != inner.trigger or process.depth_of(outer, state.name) <= depth:
                    continue
                if _guard(outer) is None or _guard(outer) == _guard(inner):
                    continue
                if (id(inner), id(outer)) in seen:
                    continue
                seen.add((id(inner), id(outer)))
                where = process.written_source(outer, state.name)
                yield Problem(
                    inner.loc,
                    f"transition '{inner.trigger}' of '{state.name}' (guard `{_guard(inner)}`) "
                    f"overlaps the one it inherits from '{where}' (guard `{_guard(outer)}`, "
                    f"{outer.loc}): where both guards hold, only the inner one is taken",
                    "warning",
                    hint="make the guards exclude each other, or drop one of them",
                )


def compound_problems(process: Process, index: ProcessIndex) -> Iterator[Problem]:
    """Every compound-state problem of a process (none for a process without them)."""
    if not process.compounds:
        return
    yield from check_compound_initial(process)
    yield from check_dest_without_initial(process, index)
    yield from check_compound_timers(process, index)
    yield from check_inherited_overlap(process, index)
