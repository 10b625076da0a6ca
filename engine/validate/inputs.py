"""Checks of what each trigger's data may set: `input:` lists, `start.input`, timer data, and
the warning about a field a trigger can change after a guard decided on it.

A transition's data may set its `input` and `requires` fields, nothing else; `start` data the
`start.input` and required fields (any field when the process has no `start`). A timer's `data`
is data given to its trigger, so every transition the timer can fire must accept it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from ..errors import DefinitionError, Location, Problem
from ..expressions import compile_expr, field_types
from ..model import Process, Transition
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


def _reachable(process: Process, starts: set[str]) -> set[str]:
    seen, todo = set(starts), deque(starts)
    while todo:
        state = todo.popleft()
        for transition in process.transitions_from(state):
            after = transition.target(state)
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def _for_good(process: Process, decided: Transition, other: Transition, later: set[str]) -> bool:
    """Whether `other` can fire after `decided` without `decided`'s source coming again."""
    for source in later.intersection(other.sources):
        again = _reachable(process, {other.target(source)})
        if not again.intersection(decided.sources):
            return True
    return False


def _set_after_guard(process: Process, at: At) -> Iterator[Problem]:
    """A field a guard decided on that a later trigger's data may change for good (e.g. a
    credit flag cleared after the approval it sent to Finance): the record no longer says why
    the step was taken. A change after which the same decision is taken again (a rejected
    request revised and resubmitted) is fine."""
    reads = {id(t): guard_reads(process, t) for t in process.transitions}
    for decided in process.transitions:
        fields = reads[id(decided)]
        if not fields:
            continue
        later = _reachable(process, {decided.target(s) for s in decided.sources})
        for other in process.transitions:
            if other.trigger == decided.trigger or not _for_good(process, decided, other, later):
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


def input_problems(process: Process, locate: Locator | None = None) -> list[Problem]:
    """Unknown fields in `input` lists, timer data a transition refuses, and the warnings
    about fields set after a guard relied on them."""
    at = At(locate)
    return [
        *_unknown_inputs(process, at),
        *_timer_data(process, at),
        *_set_after_guard(process, at),
    ]
