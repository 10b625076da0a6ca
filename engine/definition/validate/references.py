"""Checks that names used in a process refer to declared fields and calendars.

These run on the model and point at the exact value that names the unknown thing (a `requires`
entry, a `set` key, a batch column), with a "did you mean" hint. Names of states, roles and
tasks are checked by `engine.definition.validate.graph`.

Recipients too: a field a message goes to (a `notify` recipient, a role's `contact`) must be
able to hold one address. `type: email` is checked when data is given; a `string`, `text` or
`list` field is only checked when a message is sent, so loading warns; any other type is an
error. A literal contact must be one valid address.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from ...errors import Location, Problem, did_you_mean
from ...messages.addresses import address_problem
from ...model import (
    Action,
    AppendLine,
    Compound,
    CreateJob,
    FieldType,
    Notify,
    Process,
    SetField,
    State,
    Transition,
)

__all__ = ["At", "Locator", "reference_problems", "unknown_name"]


def _at(loc: Location, *more: str | int) -> Location:
    """A location for a path below a model object's (line and column fixed up by the caller)."""
    return Location(loc.file, loc.line, loc.column, (*loc.path, *more))


def unknown_name(what: str, name: str, choices: Sequence[str], loc: Location) -> Problem:
    hint = did_you_mean(name, choices) if choices else f"no {what}s are declared"
    return Problem(loc, f"unknown {what} '{name}'" + (f"; {hint}" if hint else ""))


class Locator(Protocol):
    """Gives the location of a document path (`engine.definition.yamlsource.Source.locate`)."""

    def __call__(self, path: Sequence[str | int], *, key: bool = False) -> Location: ...


class At:
    """Where a value below a model object was written: `at(transition.loc, "dest")`.

    With the document's `Source.locate` the line and column are the value's own; without it
    (a model built in code) they stay the object's, and the path says what is meant.
    """

    def __init__(self, locate: Locator | None) -> None:
        self.locate = locate

    def __call__(self, loc: Location, *more: str | int) -> Location:
        if self.locate is not None and loc.path:
            return self.locate((*loc.path, *more))
        return _at(loc, *more)


def _transition_problems(
    transition: Transition, fields: dict[str, FieldType], at: At
) -> Iterator[Problem]:
    names = list(fields)
    for i, name in enumerate(transition.requires):
        if name not in fields:
            yield unknown_name("field", name, names, at(transition.loc, "requires", i))
    yield from _action_problems(transition.actions, fields, at)


def _action_problems(
    actions: Sequence[Action], fields: dict[str, FieldType], at: At
) -> Iterator[Problem]:
    names = list(fields)
    for action in actions:
        if isinstance(action, SetField) and action.field not in fields:
            yield unknown_name("field", action.field, names, action.loc)
        elif isinstance(action, AppendLine) and not action.to_parent:
            where = at(action.loc, "append", "field")
            kind = fields.get(action.field)
            if kind is None:
                yield unknown_name("field", action.field, names, where)
            elif kind is not FieldType.TEXT:
                message = (
                    f"append adds lines to a text field; '{action.field}' is {kind.value} "
                    "(declare it `type: text`)"
                )
                yield Problem(where, message)


def _state_problems(
    state: State | Compound, fields: dict[str, FieldType], calendars: list[str], at: At
) -> Iterator[Problem]:
    yield from _action_problems((*state.on_enter, *state.on_exit), fields, at)
    for i, timer in enumerate(state.timers):
        if timer.calendar is not None and timer.calendar not in calendars:
            where = at(state.loc, "timers", i, "calendar")
            yield unknown_name("calendar", timer.calendar, calendars, where)
    if not isinstance(state, State):
        return
    if state.sla is not None and state.sla.calendar and state.sla.calendar not in calendars:
        where = at(state.loc, "sla", "calendar")
        yield unknown_name("calendar", state.sla.calendar, calendars, where)
    if state.batch is not None:
        for i, column in enumerate(state.batch.columns):
            if column not in fields:
                where = at(state.loc, "batch", "columns", i)
                yield unknown_name("field", column, list(fields), where)


_TEXTUAL = (FieldType.STRING, FieldType.TEXT, FieldType.LIST)


def _recipient_field(name: str, kind: FieldType, what: str, where: Location) -> Iterator[Problem]:
    """A field used as a recipient: `email`, else a warning (textual) or an error."""
    if kind is FieldType.EMAIL:
        return
    if kind in _TEXTUAL:
        yield Problem(
            where,
            f"{what} goes to field '{name}', which is {kind.value}: a value that is not one "
            "address is only found when the message is sent",
            "warning",
            hint=f"declare it `{name}: {{type: email}}` so bad addresses are refused when given",
        )
        return
    yield Problem(
        where,
        f"{what} goes to field '{name}', which is {kind.value} and cannot hold an address",
        hint=f"declare it `{name}: {{type: email}}`, or send to a role",
    )


def _recipient_problems(
    process: Process, fields: dict[str, FieldType], at: At
) -> Iterator[Problem]:
    seen: set[str] = set()  # one problem per field, at its first use
    for action in process.all_actions():
        if not isinstance(action, Notify) or action.on_parent:
            continue  # a parent's fields are checked in the parent's process
        for part in ("to", "cc"):
            for name in getattr(action, part):
                kind = fields.get(name)
                if kind is not None and name not in seen:
                    seen.add(name)
                    where = at(action.loc, "notify", part)
                    yield from _recipient_field(name, kind, "a message", where)
    for role in process.roles:
        if role.contact is None:
            continue
        where = at(role.loc, "contact")
        if "@" in role.contact:
            problem = address_problem(role.contact)
            if problem is not None:
                yield Problem(where, f"contact of role '{role.name}' is not one address: {problem}")
        elif role.contact in fields and role.contact not in seen:
            seen.add(role.contact)
            what = f"a message to role '{role.name}'"
            yield from _recipient_field(role.contact, fields[role.contact], what, where)


def _job_problems(process: Process, at: At) -> Iterator[Problem]:
    """A job's completion trigger exists, its result fields exist and the trigger takes them."""
    fields = [f.name for f in process.fields]
    triggers = list(dict.fromkeys(t.trigger for t in process.transitions))
    for action in process.all_actions():  # entry and exit actions may start jobs too
        if not isinstance(action, CreateJob):
            continue
        completing = [t for t in process.transitions if t.trigger == action.on_complete]
        if not completing:
            yield unknown_name(
                "trigger", action.on_complete, triggers, at(action.loc, "job", "on_complete")
            )
        for i, name in enumerate(action.result):
            listed = (i,) if len(action.result) > 1 else ()  # `result: x` or a list
            where = at(action.loc, "job", "result", *listed)
            if name not in fields:
                yield unknown_name("field", name, fields, where)
                continue
            refusing = [t for t in completing if name not in process.accepts(t)]
            if refusing:
                yield Problem(
                    where,
                    f"job '{action.type}' completes with '{name}', which "
                    f"'{action.on_complete}' (line {refusing[0].loc.line}) does not accept: "
                    f"add '{name}' to its `input`",
                )


def reference_problems(process: Process, locate: Locator | None = None) -> list[Problem]:
    """Names of fields and calendars used but not declared.

    Args:
        process: the process to check.
        locate: `Source.locate` of the document, to point at the offending value; without it
            problems point at the enclosing object.

    Returns:
        The errors found.
    """
    at = At(locate)
    fields = {f.name: f.type for f in process.fields}
    calendars = [c.name for c in process.calendars]
    problems: list[Problem] = []
    for transition in process.transitions:
        problems.extend(_transition_problems(transition, fields, at))
    for state in process.all_states():
        problems.extend(_state_problems(state, fields, calendars, at))
    problems.extend(_recipient_problems(process, fields, at))
    problems.extend(_job_problems(process, at))
    return problems
