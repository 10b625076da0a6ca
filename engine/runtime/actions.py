"""Actions compiled to small functions that write into the event's `Step`.

Nothing here touches the store: the engine applies what the step collected inside the event's
transaction, after the transition succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DataError
from ..expressions import ExprType, compile_expr, compile_template
from ..model import (
    Action,
    AppendLine,
    AppendRow,
    CreateJob,
    Emit,
    Notify,
    Process,
    RecordActivity,
    SetField,
    StartProcess,
)
from .data import DataCodec
from .recipients import Resolver
from .step import JobRequest, Message, Step

__all__ = ["CompiledAction", "compile_action", "dated_line"]

CompiledAction = Callable[[Step], None]


def dated_line(existing: Any, step: Step, text: str) -> str:
    """`existing` with the line `YYYY-MM-DD: text` (dated by the step's clock) added."""
    line = f"{step.now.date().isoformat()}: {text}"
    return f"{existing}\n{line}" if existing else line


def _set_field(action: SetField, process: Process, env: Mapping[str, ExprType]) -> CompiledAction:
    expr = compile_expr(action.value, env)
    spec = process.find_field(action.field)
    check = DataCodec(process).check_value
    name = action.field

    def run(step: Step) -> None:
        value = expr.evaluate(step.vars)
        if spec is not None and value is not None:
            try:
                value = check(name, value)
            except DataError as exc:
                raise DataError(f"set {action.field} = {action.value.source}: {exc}") from None
        step.vars[action.field] = value

    return run


def _append(action: AppendLine, env: Mapping[str, ExprType]) -> CompiledAction:
    template = compile_template(action.line, env)

    def run(step: Step) -> None:
        text = template.render(step.vars)
        if action.to_parent:
            step.parent_lines.append((action.field, text))
        else:
            step.vars[action.field] = dated_line(step.vars.get(action.field), step, text)

    return run


def _activity(action: RecordActivity, env: Mapping[str, ExprType]) -> CompiledAction:
    outcome = compile_expr(action.outcome, env) if action.outcome else None
    note = compile_template(action.note, env) if action.note else None

    def run(step: Step) -> None:
        step.activities.append(
            {
                "kind": action.kind,
                "outcome": outcome.evaluate(step.vars) if outcome else None,
                "note": note.render(step.vars) if note else "",
            }
        )

    return run


def _notify(action: Notify, process: Process, env: Mapping[str, ExprType]) -> CompiledAction:
    subject = compile_template(action.subject, env)
    body = compile_template(action.body, env)

    def run(step: Step) -> None:
        resolver = step.resolver()
        if action.on_parent:
            parent = step.parent()
            if parent is not None:
                # the request's fields and roles; the task's assignee is not the request's
                resolver = Resolver(parent[0].process, parent[1], step.people)
        to = resolver.resolve(action.to, action.channel)
        cc = resolver.resolve(action.cc, action.channel)
        step.messages.append(
            Message(
                channel=action.channel,
                to=tuple(to.addresses),
                cc=tuple(cc.addresses),
                subject=subject.render(step.vars),
                body=body.render(step.vars),
                unresolved=tuple(to.unresolved + cc.unresolved),
            )
        )

    return run


def _row(action: AppendRow, env: Mapping[str, ExprType]) -> CompiledAction:
    columns = [(name, compile_template(t, env)) for name, t in action.columns]

    def run(step: Step) -> None:
        values = tuple((name, t.render(step.vars)) for name, t in columns)
        step.rows.append((action.sheet, values))

    return run


def _job(action: CreateJob, env: Mapping[str, ExprType]) -> CompiledAction:
    payload = [(key, compile_expr(expr, env)) for key, expr in action.payload]

    def run(step: Step) -> None:
        # typed values turned into JSON ones (dates as ISO text): never a text template, so a
        # quote in a client's name is a quote in a JSON string, not broken JSON
        values = {key: DataCodec.encode_value(expr.evaluate(step.vars)) for key, expr in payload}
        step.jobs.append(
            JobRequest(action.type, action.on_complete, values, action.result, action.retries)
        )

    return run


def _start(action: StartProcess, env: Mapping[str, ExprType]) -> CompiledAction:
    data = [(name, compile_expr(expr, env)) for name, expr in action.data]

    def run(step: Step) -> None:
        values = {name: expr.evaluate(step.vars) for name, expr in data}
        given = {name: value for name, value in values.items() if value is not None}
        step.starts.append((action.process, given))

    return run


def compile_action(action: Action, process: Process, env: Mapping[str, ExprType]) -> CompiledAction:
    """Compile one action of `process` (expressions checked against `env`).

    Raises:
        DefinitionError: an expression or template of the action is invalid.
    """
    if isinstance(action, SetField):
        return _set_field(action, process, env)
    if isinstance(action, AppendLine):
        return _append(action, env)
    if isinstance(action, RecordActivity):
        return _activity(action, env)
    if isinstance(action, Notify):
        return _notify(action, process, env)
    if isinstance(action, AppendRow):
        return _row(action, env)
    if isinstance(action, CreateJob):
        return _job(action, env)
    if isinstance(action, StartProcess):
        return _start(action, env)
    if isinstance(action, Emit):
        emit = action
        return lambda step: step.emits.append(emit)
    raise TypeError(f"unknown action {action!r}")
