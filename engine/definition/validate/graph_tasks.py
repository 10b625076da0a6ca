"""Checks on a request's child tasks: their processes, `depends_on` (no cycles), rules, emits;
and the processes `start` actions start.

The dependencies form a networkx DiGraph (task -> what it depends on); a cycle is reported once
per strongly connected component, at the first task of the cycle in declaration order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

import networkx as nx

from ...errors import Location, Problem, did_you_mean
from ...model import Emit, Process, StartProcess
from .references import At

OWN_TARGETS = ("parent", "children")


def _error(loc: Location, message: str, hint: str = "") -> Problem:
    return Problem(loc, message, "error", hint)


def check_task_processes(
    process: Process, known: Collection[str] | None, at: At
) -> Iterator[Problem]:
    """Tasks start processes that exist (only when the known process ids are given)."""
    if known is None:
        return
    for task in process.tasks:
        if task.process not in known:
            yield _error(
                at(task.loc, "process"),
                f"task '{task.name}' starts unknown process '{task.process}'",
                did_you_mean(task.process, known),
            )


def check_started_processes(
    process: Process, known: Collection[str] | None, at: At
) -> Iterator[Problem]:
    """`start` actions start processes that exist (only when the known process ids are given;
    what their data gives is checked across the folder, `validate.family`)."""
    if known is None:
        return
    for transition in process.transitions:
        for action in transition.actions:
            if isinstance(action, StartProcess) and action.process not in known:
                yield _error(
                    at(action.loc, "start", "process"),
                    f"transition '{transition.trigger}' starts unknown process '{action.process}'",
                    did_you_mean(action.process, known) or "start a process of the same folder",
                )
    for state in process.states:
        start = state.batch.start if state.batch is not None else None
        if start is not None and start.process not in known:
            yield _error(
                at(start.loc, "process"),
                f"the fulfilment list of state '{state.name}' starts unknown process "
                f"'{start.process}'",
                did_you_mean(start.process, known) or "start a process of the same folder",
            )


def check_dependencies(process: Process, at: At) -> Iterator[Problem]:
    """`depends_on` names declared tasks."""
    names = [t.name for t in process.tasks]
    for task in process.tasks:
        for i, dep in enumerate(task.depends_on):
            if dep not in names:
                yield _error(
                    at(task.loc, "depends_on", i),
                    f"task '{task.name}' depends on unknown task '{dep}'",
                    did_you_mean(dep, names),
                )


def dependency_graph(process: Process) -> nx.DiGraph:
    """Tasks as nodes, an edge from each task to each declared task it depends on."""
    graph = nx.DiGraph()
    names = {t.name for t in process.tasks}
    graph.add_nodes_from(t.name for t in process.tasks)
    graph.add_edges_from(
        (t.name, dep) for t in process.tasks for dep in t.depends_on if dep in names
    )
    return graph


def check_cycles(process: Process) -> Iterator[Problem]:
    """`depends_on` has no cycles; each cycle is written `a -> b -> a`."""
    graph = dependency_graph(process)
    order = {t.name: i for i, t in enumerate(process.tasks)}
    for component in nx.strongly_connected_components(graph):
        start = min(component, key=order.__getitem__)
        if len(component) == 1 and not graph.has_edge(start, start):
            continue
        cycle = nx.find_cycle(graph.subgraph(component), source=start)
        path = [edge[0] for edge in cycle] + [cycle[-1][1]]
        task = process.tasks[order[path[0]]]
        yield _error(
            task.loc,
            "tasks depend on each other in a cycle: " + " -> ".join(path),
            "remove one of these depends_on entries",
        )


def check_rules(process: Process, at: At) -> Iterator[Problem]:
    """Rules and emits name declared tasks; at most one task is the indicator."""
    names = [t.name for t in process.tasks]
    indicators = [t for t in process.tasks if t.indicator]
    for extra in indicators[1:]:
        yield _error(
            extra.loc,
            f"task '{extra.name}' is a second indicator task ('{indicators[0].name}' is one)",
        )
    for rule in process.rules:
        if rule.task is not None and rule.task not in names:
            yield _error(
                at(rule.loc, "task"),
                f"rule '{rule.when}' names unknown task '{rule.task}'",
                did_you_mean(rule.task, names),
            )
        if rule.task is None and rule.when in ("succeeded", "failed") and not indicators:
            yield _error(rule.loc, f"rule '{rule.when}' names no task and no task is the indicator")
        for i, (target, trigger) in enumerate(rule.fire):
            if target not in OWN_TARGETS and target not in names:
                yield _error(
                    at(rule.loc, "fire", i, "target"),
                    f"rule '{rule.when}' fires '{trigger}' on unknown task '{target}'",
                    did_you_mean(target, [*names, "parent"]),
                )
    for transition in process.transitions:
        for action in transition.actions:
            if isinstance(action, Emit) and action.target not in (*OWN_TARGETS, *names):
                yield _error(
                    at(action.loc, "emit", "to"),
                    f"transition '{transition.trigger}' emits '{action.trigger}' "
                    f"to unknown task '{action.target}'",
                    did_you_mean(action.target, [*names, *OWN_TARGETS]),
                )


def task_problems(
    process: Process, *, known_processes: Collection[str] | None = None, at: At | None = None
) -> list[Problem]:
    """Every problem with the tasks, dependencies and rules of a process; `at` points each at
    the offending value when the document can be located."""
    at = at or At(None)
    return [
        *check_task_processes(process, known_processes, at),
        *check_started_processes(process, known_processes, at),
        *check_dependencies(process, at),
        *check_cycles(process),
        *check_rules(process, at),
    ]
