"""Checks across processes: what a task writes to, or sends through, the request that starts it.

A task process's `append ... to_parent: true` writes a field of its request, and its
`notify ... on_parent: true` addresses the request's roles and fields. Neither can be checked
when the task's file is loaded on its own; these checks run once a folder is loaded, for every
(request, task process) pair the requests' `tasks:` declare.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from ..errors import Problem
from ..model import AppendLine, FieldType, Notify, Process

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
    return sorted(problems)


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
