"""Graph checks on a process: each check is a small pure function returning its Problems.

`graph_problems` runs them all over one networkx MultiDiGraph of the process (see
`stategraph`). Every check is linear in the size of the process: reachability is
one forward pass from the initial state and one reverse pass from the terminal states, so 1,000
states and 5,000 transitions check in a few tens of milliseconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterator

import networkx as nx

from ...errors import Location, Problem, did_you_mean
from ...model import Process, State, Transition
from .graph_automatic import check_automatic_cycles
from .graph_compound import compound_problems
from .graph_firing import check_unfireable
from .graph_tasks import task_problems
from .graph_usage import check_roles, name_clashes, unused_fields, unused_roles
from .references import At, Locator
from .stategraph import ANY_STATE, ProcessIndex, build_graph, expand_sources, index_process

Check = Callable[[Process, ProcessIndex, nx.MultiDiGraph], Iterator[Problem]]


def error(loc: Location, message: str, hint: str = "") -> Problem:
    return Problem(loc, message, "error", hint)


def warning(loc: Location, message: str, hint: str = "") -> Problem:
    return Problem(loc, message, "warning", hint)


def check_initial(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Exactly one state is initial."""
    initial = [s for s in process.states if s.initial]
    if not initial and process.states:
        yield error(process.loc, "no state is marked `initial: true`", "mark the first state")
    for extra in initial[1:]:
        yield error(
            extra.loc,
            f"state '{extra.name}' is a second initial state ('{initial[0].name}' is initial)",
        )


def check_unknown_states(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Transitions come from and go to declared states."""
    names = [*index.states, *(c.name for c in process.compounds)]
    for transition in process.transitions:
        for i, source in enumerate(transition.sources):
            if source != ANY_STATE and source not in names:
                yield error(
                    index.at(transition.loc, "source", i),
                    f"transition '{transition.trigger}' comes from unknown state '{source}'",
                    did_you_mean(source, names),
                )
        if transition.dest is not None and transition.dest not in names:
            yield error(
                index.at(transition.loc, "dest"),
                f"transition '{transition.trigger}' goes to unknown state '{transition.dest}'",
                did_you_mean(transition.dest, names),
            )


def check_unreachable(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Every state can be reached from the initial state."""
    initial = next((s for s in process.states if s.initial), None)
    if initial is None:
        return
    reached = nx.descendants(graph, initial.name) | {initial.name}
    for state in process.states:
        if state.name not in reached:
            yield error(
                state.loc,
                f"state '{state.name}' cannot be reached from the initial state '{initial.name}'",
                "add a transition into it, or remove it",
            )


def reaches_terminal(graph: nx.MultiDiGraph, terminals: Collection[str]) -> set[str]:
    """The states from which some terminal state can be reached: one reverse breadth-first pass."""
    seen = set(terminals)
    queue = deque(terminals)
    while queue:
        node = queue.popleft()
        for before in graph.predecessors(node):
            if before not in seen:
                seen.add(before)
                queue.append(before)
    return seen


def check_traps(process: Process, index: ProcessIndex, graph: nx.MultiDiGraph) -> Iterator[Problem]:
    """Non-terminal, non-waiting states can reach a terminal state."""
    terminals = [s.name for s in process.states if s.terminal]
    if not terminals:
        yield error(process.loc, "no state is marked `terminal: true`", "instances could never end")
        return
    finishing = reaches_terminal(graph, terminals)
    for state in process.states:
        if state.name not in finishing and not state.waiting:
            yield error(
                state.loc,
                f"state '{state.name}' is a trap: no terminal state can be reached from it",
                "add a transition towards a terminal state, or declare it `waiting: true`",
            )


def check_terminal_exits(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Terminal states have no outgoing transitions or timers."""
    for transition in process.transitions:
        for i, source in enumerate(transition.sources):
            state = index.states.get(source)
            if state is not None and state.terminal:
                yield error(
                    index.at(transition.loc, "source", i),
                    f"transition '{transition.trigger}' leaves terminal state '{source}'",
                    "a terminal state ends the instance; make it non-terminal or drop the source",
                )
    for state in process.states:
        if state.terminal:
            for timer in state.timers:
                yield error(timer.loc, f"terminal state '{state.name}' has timer '{timer.name}'")


def _guard_text(transition: Transition) -> str | None:
    return " ".join(transition.guard.source.split()) if transition.guard else None


def check_nondeterminism(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """No two transitions on one trigger from one state can both fire. (Transitions written
    at different levels of compound states cannot: the innermost one is taken.)"""
    for source, transitions in index.outgoing.items():
        by_trigger: dict[tuple[str, int], list[Transition]] = {}
        for transition in transitions:
            level = process.depth_of(transition, source) if process.compounds else 0
            by_trigger.setdefault((transition.trigger, level), []).append(transition)
        for (trigger, _), group in by_trigger.items():
            seen: dict[str | None, Transition] = {}
            for transition in group:
                guard = _guard_text(transition)
                first = seen.setdefault(guard, transition)
                if first is transition:
                    continue
                why = f"the same guard `{guard}`" if guard else "no guard"
                yield error(
                    transition.loc,
                    f"two transitions on '{trigger}' from state '{source}' can both fire: "
                    f"both have {why}",
                    f"the other one is at {first.loc}; give them guards that exclude each other",
                )


def _unhandled(index: ProcessIndex, state: str, trigger: str) -> str:
    return did_you_mean(trigger, index.handled.get(state, ()))


def check_unhandled_triggers(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Timers and batch steps fire triggers that a transition from their state handles."""
    for state in process.states:
        handled = index.handled.get(state.name, set())
        for timer in state.timers:
            if timer.trigger not in handled:
                yield error(
                    index.at(timer.loc, "trigger"),
                    f"timer '{timer.name}' of state '{state.name}' fires '{timer.trigger}', "
                    f"which no transition from '{state.name}' handles",
                    _unhandled(index, state.name, timer.trigger),
                )
        if state.batch is not None and state.batch.trigger not in handled:
            yield error(
                index.at(state.batch.loc, "trigger"),
                f"batch step of state '{state.name}' fires '{state.batch.trigger}', "
                f"which no transition from '{state.name}' handles",
                _unhandled(index, state.name, state.batch.trigger),
            )


def _timer_triggers(state: State) -> set[str]:
    return {timer.trigger for timer in state.timers}


def check_timer_only_exits(
    process: Process, index: ProcessIndex, graph: nx.MultiDiGraph
) -> Iterator[Problem]:
    """Warn about states that only time can move on (every way out is a timer's trigger)."""
    for state in process.states:
        timed = _timer_triggers(state)
        # an internal transition does not leave the state
        handled = {t.trigger for t in index.outgoing.get(state.name, ()) if not t.internal}
        if state.terminal or not timed or not handled:
            continue
        if handled <= timed:
            yield warning(
                state.loc,
                f"state '{state.name}' can only be left by its timers",
                "no person can move an instance out of it; add a transition if that is wrong",
            )


def _roles(process: Process, index: ProcessIndex, graph: nx.MultiDiGraph) -> Iterator[Problem]:
    yield from check_roles(process, index.at)
    yield from unused_roles(process)
    yield from name_clashes(process)


def _fields(process: Process, index: ProcessIndex, graph: nx.MultiDiGraph) -> Iterator[Problem]:
    yield from unused_fields(process)


def _compounds(process: Process, index: ProcessIndex, graph: nx.MultiDiGraph) -> Iterator[Problem]:
    yield from compound_problems(process, index)
    yield from check_automatic_cycles(process)


CHECKS: tuple[Check, ...] = (  # check_unknown_states runs first, in graph_problems
    check_initial,
    check_unreachable,
    check_traps,
    check_terminal_exits,
    check_nondeterminism,
    check_unhandled_triggers,
    check_timer_only_exits,
    check_unfireable,
    _roles,
    _fields,
    _compounds,
)
CASCADING: tuple[Check, ...] = (check_unreachable, check_traps)


def graph_problems(
    process: Process,
    *,
    known_processes: Collection[str] | None = None,
    locate: Locator | None = None,
) -> list[Problem]:
    """Every graph, role, field and task problem of a process, sorted by location.

    Args:
        process: the process to check.
        known_processes: the ids of the processes its tasks may start; None skips that check.
        locate: `Source.locate` of the YAML document, to point at the offending value (a
            misspelt `dest:` is reported at its own line, not at its transition's).

    Returns:
        Errors and warnings (see `Problem.severity`), sorted by location then message.
    """
    at = At(locate)
    index = index_process(process, at)
    graph = build_graph(process, index)
    problems = list(check_unknown_states(process, index, graph))
    # A misspelt state name drops its edges from the graph; the unreachable and trap errors
    # that follow from it would only bury the one real mistake, so they wait for its fix.
    skip = CASCADING if problems else ()
    for check in CHECKS:
        if check not in skip:
            problems.extend(check(process, index, graph))
    problems.extend(task_problems(process, known_processes=known_processes, at=at))
    return sorted(problems)


__all__ = ["CHECKS", "expand_sources", "graph_problems", "reaches_terminal"]
