"""A people directory against the processes it serves, and loading one for the engine.

people_problems(people, processes)
    error    a person holds a role no process declares (a typo: "did you mean")
    error    a role that may fire a transition is held by no active person
    error    a queue address for a queue no state or task uses
    warning  a declared role with no holder and no contact: its notices reach nobody
    warning  a `notify` to such a role, at the notify: that message will reach nobody
    warning  an sms (an SLA's cell phone alert, a `notify` by sms) to a role none of whose
             active holders has a `phone`, at the SLA or the notify: it will reach nobody
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..errors import DefinitionError, Problem, did_you_mean
from ..model import Notify, Process
from .directory import OPERATOR, PeopleDirectory
from .yamlfile import PeopleFile, read_people_file

__all__ = ["load_people", "people_problems"]


def _declared(processes: Sequence[Process]) -> dict[str, list[str]]:
    """Role name -> the processes declaring it."""
    out: dict[str, list[str]] = {}
    for process in processes:
        for role in process.roles:
            out.setdefault(role.name, []).append(process.id)
    return out


def _firing_roles(processes: Sequence[Process]) -> dict[str, str]:
    """Role -> the first place it may fire a transition (`process.trigger`)."""
    out: dict[str, str] = {}
    for process in processes:
        for transition in process.transitions:
            for role in transition.roles:
                out.setdefault(role, f"{process.id}.{transition.trigger}")
    return out


def _queues(processes: Sequence[Process]) -> set[str]:
    used = {s.queue for p in processes for s in p.states if s.queue}
    used |= {t.queue for p in processes for t in p.tasks if t.queue}
    return used


def _role_problems(people: PeopleFile, processes: Sequence[Process]) -> Iterable[Problem]:
    declared = _declared(processes)
    declared.setdefault(OPERATOR, [])  # the engine's own: interventions on any process
    for person in people.directory:
        for index, role in enumerate(person.roles):
            if role not in declared:
                yield Problem(
                    people.locate("people", person.id, "roles", index),
                    f"'{person.id}' holds role '{role}', which no process declares",
                    hint=did_you_mean(role, declared) or "check the role names in the processes",
                )
    directory = people.directory
    firing = _firing_roles(processes)
    where = people.locate("people", key=True)
    for role, place in sorted(firing.items()):
        if not directory.holders(role):
            yield Problem(
                where,
                f"role '{role}' is held by no active person, so nobody may fire {place}",
                hint=f"add '{role}' to someone's roles",
            )
    for process in processes:
        for spec in process.roles:
            if spec.name in firing or spec.contact or directory.holders(spec.name):
                continue
            yield Problem(
                where,
                f"role '{spec.name}' of {process.id} is held by no active person and has no "
                "contact: its messages reach nobody",
                severity="warning",
                hint=f"add '{spec.name}' to someone's roles, or give the role a contact",
            )


def _queue_problems(people: PeopleFile, processes: Sequence[Process]) -> Iterable[Problem]:
    used = _queues(processes)
    for name in people.directory.queues:
        if name not in used:
            yield Problem(
                people.locate("queues", name, key=True),
                f"queue '{name}' is not a queue of any process",
                hint=did_you_mean(name, used),
            )


def _unreachable(people: PeopleFile, process: Process, role: str) -> bool:
    """Whether a message to `role` of `process` can reach nobody (see engine.runtime.recipients:
    no contact, no active holder, and no queue with a shared address whose work it owns)."""
    spec = process.find_role(role)
    if spec is None or spec.contact or process.find_field(role) is not None:
        return False
    directory = people.directory
    if directory.holders(role):
        return False
    owned = [s.queue for s in process.states if s.owner == role and s.queue]
    return not any(directory.queue_address(queue) for queue in owned)


def _notifies(processes: Sequence[Process]) -> Iterator[tuple[Process, Notify]]:
    """Each `notify` addressing its own process's roles (not the parent's), with the process."""
    for process in processes:
        for transition in process.transitions:
            for action in transition.actions:
                if isinstance(action, Notify) and not action.on_parent:
                    yield process, action


def _message_problems(people: PeopleFile, processes: Sequence[Process]) -> Iterable[Problem]:
    for process, action in _notifies(processes):
        for role in (*action.to, *action.cc):
            if _unreachable(people, process, role):
                yield Problem(
                    action.loc,
                    f"this message of {process.id} to role '{role}' reaches nobody: the "
                    "role has no contact and no active person holds it",
                    severity="warning",
                    hint=f"add '{role}' to someone's roles in {people.directory.file}",
                )


def _without_phone(people: PeopleFile, process: Process, role: str) -> bool:
    """Whether an sms to `role` of `process` reaches nobody: no active holder has a phone
    (a field is checked when the message is sent; an unknown role is the schema's error)."""
    if process.find_role(role) is None or process.find_field(role) is not None:
        return False
    return not any(person.phone for person in people.directory.holders(role))


def _sms_problems(people: PeopleFile, processes: Sequence[Process]) -> Iterable[Problem]:
    hint = f"give them a `phone` in {people.directory.file}"
    for process in processes:
        for state in process.states:
            sla = state.sla
            if (
                sla is not None
                and "sms" in sla.channels
                and _without_phone(people, process, sla.owner)
            ):
                yield Problem(
                    sla.loc,
                    f"the cell phone alert (sms) of {process.id}'s '{state.name}' reaches "
                    f"nobody: no active person holding '{sla.owner}' has a phone",
                    severity="warning",
                    hint=hint,
                )
    sms = ((process, action) for process, action in _notifies(processes) if action.channel == "sms")
    for process, action in sms:
        for role in action.to:
            if _without_phone(people, process, role):
                yield Problem(
                    action.loc,
                    f"this sms of {process.id} to role '{role}' reaches nobody: no active "
                    "person holding it has a phone",
                    severity="warning",
                    hint=hint,
                )


def people_problems(people: PeopleFile, processes: Sequence[Process]) -> list[Problem]:
    """Every problem of the directory against `processes`, sorted (see the module docstring)."""
    found = [
        *_role_problems(people, processes),
        *_queue_problems(people, processes),
        *_message_problems(people, processes),
        *_sms_problems(people, processes),
    ]
    return sorted(found)


def load_people(path: str | Path, processes: Iterable[Process]) -> PeopleDirectory:
    """Read a people directory and check it against the processes it serves.

    Raises:
        DefinitionError: the directory has errors, or does not fit the processes.
        OSError: the file cannot be read.
    """
    people = read_people_file(path)
    problems = people_problems(people, list(processes))
    if any(p.is_error for p in problems):
        raise DefinitionError(problems)
    return people.directory
