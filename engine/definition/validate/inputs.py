"""Checks of what each trigger's data may set: `input:` lists, `start.input`, timer data, and
the warning about a field a trigger can change after a guard decided on it.

A transition's data may set its `input` and `requires` fields, nothing else; `start` data the
`start.input` and required fields (any field when the process has no `start`). A timer's `data`
is data given to its trigger, so every transition the timer can fire must accept it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator

import networkx as nx

from ...errors import DefinitionError, Location, Problem
from ...expressions import compile_expr, field_types
from ...model import Process, Transition
from .references import At, Locator, unknown_name

__all__ = ["guard_reads", "input_problems"]


def _top(process: Process, at: At, *path: str | int) -> Location:
    """The location of a top-level path of the document (`start`, `input`, 0)."""
    if at.locate is not None:
        return at.locate(path)
    loc = process.loc
    return Location(loc.file, loc.line, loc.column, path)


def _unknown_inputs(process: Process, at: At) -> Iterator[Problem]:
    names = [f.name for f in process.fields]
    for transition in process.transitions:
        for i, name in enumerate(transition.input):
            if name not in names:
                yield unknown_name("field", name, names, at(transition.loc, "input", i))
    for i, name in enumerate(process.start_input or ()):
        if name not in names:
            yield unknown_name("field", name, names, _top(process, at, "start", "input", i))


def _timer_data(process: Process, at: At) -> Iterator[Problem]:
    for state in process.states:
        for i, timer in enumerate(state.timers):
            fired = [t for t in process.transitions_from(state.name) if t.trigger == timer.trigger]
            for key, _ in timer.data:
                refusing = [t for t in fired if key not in process.accepts(t)]
                if refusing:
                    where = at(state.loc, "timers", i, "data", key)
                    yield Problem(
                        where,
                        f"timer '{timer.name}' gives '{key}' to '{timer.trigger}', whose "
                        f"transition (line {refusing[0].loc.line}) does not accept it: add "
                        f"'{key}' to its `input`",
                    )


def guard_reads(process: Process, transition: Transition) -> frozenset[str]:
    """The fields a transition's guard reads (none when it has no guard or does not compile)."""
    if transition.guard is None:
        return frozenset()
    env = field_types(process)
    try:
        compiled = compile_expr(transition.guard, env)
    except DefinitionError:
        return frozenset()  # reported by the expression checks
    return frozenset(name for name in compiled.names if name in env)


class _Reach:
    """Which states each state leads to, for a whole process at once: the graph's strongly
    connected components in reverse topological order, each with the bit set of the components
    it reaches, so one question costs a few integer operations however large the process."""

    def __init__(self, process: Process) -> None:
        graph = nx.DiGraph()
        for state in process.states:
            graph.add_node(state.name)
            for transition in process.transitions_from(state.name):
                graph.add_edge(state.name, transition.target(state.name))
        dag = nx.condensation(graph)
        self._component: dict[str, int] = dag.graph["mapping"]
        self._reaches: dict[int, int] = {}
        for component in reversed(list(nx.topological_sort(dag))):
            bits = 1 << component
            for after in dag.successors(component):
                bits |= self._reaches[after]
            self._reaches[component] = bits

    def of(self, states: Iterable[str]) -> int:
        """The components reachable from `states` (themselves included), as bits."""
        bits = 0
        for state in states:
            if state in self._component:  # a name no state has is reported elsewhere
                bits |= self._reaches[self._component[state]]
        return bits

    def bits(self, states: Iterable[str]) -> int:
        """The components `states` are in, as bits."""
        found = (1 << self._component[s] for s in states if s in self._component)
        return functools.reduce(operator.or_, found, 0)


def _steps(reach: _Reach, transition: Transition) -> tuple[tuple[int, int], ...]:
    """For each source of `transition`: its component, and what its target leads to (bits)."""
    return tuple(
        (reach.bits((source,)), reach.of((transition.target(source),)))
        for source in transition.sources
    )


def _set_after_guard(process: Process, at: At) -> Iterator[Problem]:
    """A field a guard decided on that a later trigger's data may change for good (e.g. a
    credit flag cleared after the approval it sent to Finance): the record no longer says why
    the step was taken. A change after which the same decision is taken again (a rejected
    request revised and resubmitted) is fine.

    `other` changes the field for good when it can fire from a state `decided` leads to
    (`later`) and go where none of `decided`'s sources (`again`) can come back."""
    reads = {id(t): guard_reads(process, t) for t in process.transitions}
    setters = _setters(process, reads)
    if not setters:
        return
    reach = _Reach(process)
    steps = {id(o): _steps(reach, o) for group in setters.values() for o in group}
    for decided in process.transitions:
        fields = reads[id(decided)]
        others = setters.get(fields) if fields else None
        if not others:
            continue
        later = reach.of(decided.target(s) for s in decided.sources)
        again = reach.bits(decided.sources)
        for other in others:
            if other.trigger == decided.trigger or not _for_good(steps[id(other)], later, again):
                continue
            for i, name in enumerate(other.input):
                if name in fields and name not in reads[id(other)]:
                    yield Problem(
                        at(other.loc, "input", i),
                        f"'{other.trigger}' may set '{name}' after the guard of "
                        f"'{decided.trigger}' (line {decided.loc.line}) decided on it: "
                        f"take '{name}' out of this `input`, or have this transition's guard "
                        "read it too",
                        severity="warning",
                    )


def _setters(
    process: Process, reads: dict[int, frozenset[str]]
) -> dict[frozenset[str], list[Transition]]:
    """For each set of fields a guard reads, the transitions whose data may set one of them
    without their own guard reading it, in document order."""
    by_field: dict[str, set[int]] = {}
    for n, other in enumerate(process.transitions):
        for name in other.input:
            if name not in reads[id(other)]:
                by_field.setdefault(name, set()).add(n)
    found: dict[frozenset[str], list[Transition]] = {}
    for fields in set(reads.values()):
        numbers = set().union(*(by_field.get(name, set()) for name in fields))
        if numbers:
            found[fields] = [process.transitions[n] for n in sorted(numbers)]
    return found


def _for_good(steps: tuple[tuple[int, int], ...], later: int, again: int) -> bool:
    """Some source of the transition is in `later` and its target never leads to `again`."""
    for source, leads in steps:  # noqa: SIM110 (called ~10^6 times on a large process: no generator)
        if source & later and not leads & again:
            return True
    return False


def input_problems(process: Process, locate: Locator | None = None) -> list[Problem]:
    """Unknown fields in `input` lists, timer data a transition refuses, and the warnings
    about fields set after a guard relied on them."""
    at = At(locate)
    return [
        *_unknown_inputs(process, at),
        *_timer_data(process, at),
        *_set_after_guard(process, at),
    ]
