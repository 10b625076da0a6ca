"""Role and field usage checks: roles used but not declared, and roles or fields never used.

Field usage is found naively, as the spec allows: every expression, template, `requires`, action
target, batch column, timer data key and role contact is split into words, and a field is used
when its name is one of those words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ...errors import Location, Problem, did_you_mean
from ...model import (
    Action,
    AppendLine,
    AppendRow,
    CreateJob,
    Notify,
    Process,
    RecordActivity,
    SetField,
    StartProcess,
    State,
)
from .references import At

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _error(loc: Location, message: str, hint: str = "") -> Problem:
    return Problem(loc, message, "error", hint)


def role_uses(process: Process, at: At | None = None) -> Iterator[tuple[str, Location, str]]:
    """Every place a role is named: (role, location, what names it) — notify lists excluded.

    The location is the name's own when `at` can locate it, else the naming object's.
    """
    at = at or At(None)
    for role in process.roles:
        if role.manager:
            yield role.manager, at(role.loc, "manager"), f"role '{role.name}' has manager"
    for state in process.states:
        if state.owner:
            yield state.owner, at(state.loc, "owner"), f"state '{state.name}' has owner"
        if state.sla is not None:
            where = at(state.sla.loc, "owner")
            yield state.sla.owner, where, f"the SLA of state '{state.name}' has owner"
    for transition in process.transitions:
        for i, name in enumerate(transition.roles):
            where = at(transition.loc, "roles", i)
            yield name, where, f"transition '{transition.trigger}' allows role"


def _notifies(actions: Iterable[Action]) -> Iterator[Notify]:
    return (a for a in actions if isinstance(a, Notify) and not a.on_parent)


def _acting(process: Process) -> Iterator[tuple[str, tuple[Action, ...]]]:
    """Who has actions, in words, with them: transitions, then states' entry and exit."""
    for transition in process.transitions:
        yield f"transition '{transition.trigger}'", transition.actions
    for state in process.all_states():
        if state.on_enter or state.on_exit:
            yield f"state '{state.name}'", (*state.on_enter, *state.on_exit)


def check_roles(process: Process, at: At | None = None) -> Iterator[Problem]:
    """Roles named anywhere are declared; notify recipients are roles, fields or addresses."""
    at = at or At(None)
    roles = {r.name for r in process.roles}
    fields = {f.name for f in process.fields}
    for name, loc, what in role_uses(process, at):
        if name not in roles:
            yield _error(loc, f"{what} '{name}', which is not declared", did_you_mean(name, roles))
    for role in process.roles:
        if role.contact and "@" not in role.contact and role.contact not in fields:
            yield _error(
                at(role.loc, "contact"),
                f"role '{role.name}' has contact '{role.contact}', "
                "which is neither a field nor an address",
                did_you_mean(role.contact, fields),
            )
    for who, actions in _acting(process):
        for notify in _notifies(actions):
            named = [("to", i, n) for i, n in enumerate(notify.to)]
            named += [("cc", i, n) for i, n in enumerate(notify.cc)]
            for key, i, name in named:
                if name not in roles and name not in fields and "@" not in name:
                    yield _error(
                        at(notify.loc, "notify", key, i),
                        f"{who} notifies '{name}', which is neither a declared role nor a field",
                        did_you_mean(name, roles | fields),
                    )


def name_clashes(process: Process) -> Iterator[Problem]:
    """Warn about a role named like a field whose contact is not that field: messages to the
    name (notify recipients, SLA notices) resolve the field first, not the role."""
    fields = {f.name for f in process.fields}
    for role in process.roles:
        if role.name not in fields or role.contact == role.name:
            continue
        if role.contact is None:
            instead = f"the role (role:{role.name})"
        else:
            instead = f"the role's contact '{role.contact}'"
        yield Problem(
            role.loc,
            f"role '{role.name}' has the name of field '{role.name}': messages to "
            f"'{role.name}' go to the field's value, not to {instead}",
            "warning",
            f"give the role `contact: {role.name}`, or rename the role or the field",
        )


def unused_roles(process: Process) -> Iterator[Problem]:
    """Warn about declared roles that nothing names."""
    used = {name for name, _, _ in role_uses(process)}
    for _, actions in _acting(process):
        for notify in _notifies(actions):
            used.update(notify.to + notify.cc)
    for role in process.roles:
        if role.name not in used:
            yield Problem(role.loc, f"role '{role.name}' is never used", "warning")


def _action_texts(actions: Iterable[Action]) -> Iterator[str]:
    for action in actions:
        if isinstance(action, SetField):
            yield from (action.field, action.value.source)
        elif isinstance(action, AppendLine):
            yield action.line.source
            if not action.to_parent:
                yield action.field
        elif isinstance(action, RecordActivity):
            yield from (x.source for x in (action.outcome, action.note) if x is not None)
        elif isinstance(action, Notify):
            yield from (action.subject.source, action.body.source, *action.to, *action.cc)
        elif isinstance(action, AppendRow):
            yield from (template.source for _, template in action.columns)
        elif isinstance(action, CreateJob):
            yield from (expr.source for _, expr in action.payload)
            yield from action.result
        elif isinstance(action, StartProcess):
            yield from (expr.source for _, expr in action.data)


def field_texts(process: Process) -> Iterator[str]:
    """Every text in which a field of the process may be named."""
    for transition in process.transitions:
        if transition.guard is not None:
            yield transition.guard.source
        yield from transition.requires
        yield from _action_texts(transition.actions)
    for state in process.all_states():
        yield from _action_texts((*state.on_enter, *state.on_exit))
        for timer in state.timers:
            yield from (e.source for e in (timer.at, timer.unless) if e is not None)
            yield from (key for key, _ in timer.data)
        if isinstance(state, State) and state.batch is not None:
            yield from state.batch.columns
    for task in process.tasks:
        yield from (expr.source for _, expr in task.data)
    for invariant in process.invariants:
        yield invariant.expr.source
    for role in process.roles:
        if role.contact:
            yield role.contact
    if process.instance_title is not None:
        yield process.instance_title.source


def unused_fields(process: Process) -> Iterator[Problem]:
    """Warn about declared fields whose name appears in no expression, template or list."""
    words: set[str] = set()
    for text in field_texts(process):
        words.update(WORD.findall(text))
    for field in process.fields:
        if field.name not in words:
            yield Problem(field.loc, f"field '{field.name}' is never used", "warning")
