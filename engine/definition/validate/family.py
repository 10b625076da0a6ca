"""Checks across processes: what a task writes to, or sends through, the request that starts it,
and what a `start` action gives the process it starts.

A task process's `append ... to_parent: true` writes a field of its request, and its
`notify ... on_parent: true` addresses the request's roles and fields. Neither can be checked
when the task's file is loaded on its own; these checks run once a folder is loaded, for every
(request, task process) pair the requests' `tasks:` declare. Likewise a `start` action's `data`
must name fields of the process it starts, give each of its required fields (without default),
and give values of their types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ...errors import DefinitionError, Problem, did_you_mean
from ...expressions import ExprType, compile_expr, field_types
from ...expressions.exprtypes import BATCH_FACTS
from ...model import AppendLine, FieldType, Notify, Process, StartProcess

__all__ = ["family_problems"]


def family_problems(processes: Iterable[Process]) -> list[Problem]:
    """Errors and warnings of task processes writing to requests that cannot take the write.

    An append to a field the request lacks is an error (replaying the request's history would
    not give the stored request); a notification to a recipient it lacks is a warning.
    """
    latest: dict[str, Process] = {}
    for process in processes:
        if process.id not in latest or latest[process.id].version < process.version:
            latest[process.id] = process
    problems: set[Problem] = set()
    for request in latest.values():
        for task in request.tasks:
            child = latest.get(task.process)
            if child is not None:
                problems.update(_writes_to(request, task.name, child))
    for process in latest.values():
        for transition in process.transitions:
            for action in transition.actions:
                if isinstance(action, StartProcess) and action.process in latest:
                    started = latest[action.process]
                    problems.update(_start_problems(field_types(process), action, started))
        for state in process.states:
            start = state.batch.start if state.batch is not None else None
            if start is not None and start.process in latest:
                problems.update(_start_problems(BATCH_FACTS, start, latest[start.process]))
    return sorted(problems)


def _start_problems(
    ours: Mapping[str, ExprType], action: StartProcess, started: Process
) -> Iterator[Problem]:
    """What a `start` (an action, or a batch's) gives `started`: its fields, all its required
    ones, typed; `ours` is what the data's expressions read."""
    fields = {f.name: f for f in started.fields}
    theirs = field_types(started)
    for name, expr in action.data:
        if name not in fields:
            hint = did_you_mean(name, list(fields))
            yield Problem(
                expr.loc, f"{started.id} has no field '{name}'" + (f"; {hint}" if hint else "")
            )
            continue
        try:
            kind = compile_expr(expr, ours).type
        except DefinitionError:
            continue  # the expression's own problem is reported where it is checked
        if kind not in (ExprType.ANY, ExprType.NONE) and kind is not theirs[name]:
            yield Problem(
                expr.loc,
                f"'{expr.source}' gives {kind.value}, but field '{name}' of {started.id} is "
                f"{fields[name].type.value}",
            )
    given = {name for name, _ in action.data}
    missing = [
        f.name for f in started.fields if f.required and f.default is None and f.name not in given
    ]
    if missing:
        names = ", ".join(f"'{n}'" for n in missing)
        yield Problem(
            action.loc,
            f"starting {started.id} needs its required field{'s' if len(missing) > 1 else ''} "
            f"{names}",
            hint=f"give {'them' if len(missing) > 1 else 'it'} in the action's `data`",
        )


def _writes_to(request: Process, task: str, child: Process) -> Iterator[Problem]:
    fields = {f.name: f.type for f in request.fields}
    roles = {r.name for r in request.roles}
    for transition in child.transitions:
        for action in transition.actions:
            if isinstance(action, AppendLine) and action.to_parent:
                problem = _append_problem(action, request, task, fields)
                if problem is not None:
                    yield problem
            elif isinstance(action, Notify) and action.on_parent:
                for name in (*action.to, *action.cc):
                    if "@" not in name and name not in fields and name not in roles:
                        yield Problem(
                            action.loc,
                            f"task '{task}' of '{request.id}' notifies '{name}' on its request, "
                            f"which '{request.id}' declares neither as a role nor as a field; "
                            "the message will go out unaddressed",
                            severity="warning",
                        )


def _append_problem(
    action: AppendLine, request: Process, task: str, fields: Mapping[str, FieldType]
) -> Problem | None:
    kind = fields.get(action.field)
    if kind is FieldType.TEXT:
        return None
    where = f"task '{task}' of '{request.id}' appends to the request's field '{action.field}'"
    if kind is None:
        return Problem(
            action.loc,
            f"{where}, which '{request.id}' does not declare",
            hint=f"declare `{action.field}: {{type: text}}` in {request.source_file}",
        )
    return Problem(
        action.loc,
        f"{where}, which is {kind.value} in '{request.id}'",
        hint="append adds lines to a text field: declare it `type: text`",
    )
