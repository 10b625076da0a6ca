"""SLAs: the overdue notice to a state's owner and the escalation ladder above them.

A state with `sla` gets engine timers, stored as ordinary timer rows so that leaving the state
cancels them and re-entering restarts them like any other timer:

    sla.overdue    armed on entering, at `due` after it (working time when `sla.calendar` is set)
    sla.escalate   armed when the overdue notice fires, `escalate_after` after the due time
                   (in the same calendar: `2d` is two working days past the due time)

Who is told (overdue: the owner; x days overdue: the manager):

    overdue        the assignee when the task is assigned, else the owner role (its contact,
                   its queue's shared address or its holders: engine.runtime.recipients)
    escalation 1   the assignee's manager (from the people directory); unassigned, or without
                   a directory or a manager, the owner role's `manager` role
    escalation n   the manager of the previous step's manager, `escalate_after` after the
                   step before, while the directory's chain goes up (step n in the timer data)

Their names contain a dot, which a declared timer name never does, so they cannot collide with
the process's own timers. When one fires, `fire_notice` puts one outbox message per SLA channel
(`email`, and `sms` for the cell phone alert, which only the owner gets) addressed to
the role's contact, and one
history event of kind `sla` — in the transaction that claimed the timer, so it is sent once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..audit.keys import AuditKeys
from ..clock.calendars import BusinessCalendar
from ..messages.addresses import address_problem
from ..model import Process, Sla, State
from ..people.directory import Directory, Person, manager_chain
from ..store.base import InstanceRecord, TimerRecord, Transaction, from_iso, to_iso
from .compiled import CompiledProcess
from .history import HistoryChain
from .recipients import SMS, Audience, Resolver, outbox_entry, phone_audience
from .timers import ESCALATE, OVERDUE

__all__ = ["due_at", "fire_notice"]


def _escalation_due(cp: CompiledProcess, sla: Sla, due: datetime) -> datetime:
    assert sla.escalate_after is not None
    spec = next((c for c in cp.process.calendars if c.name == sla.calendar), None)
    if spec is None:
        return due + sla.escalate_after
    return BusinessCalendar.from_model(spec).add(due, sla.escalate_after)


def _channels(sla: Sla, escalate: bool) -> tuple[str, ...]:
    """The overdue notice goes by every channel; the cell phone alert (`sms`) is the owner's
    alone, so the manager's escalation skips it."""
    if not escalate:
        return sla.channels
    return tuple(c for c in sla.channels if c != "sms") or sla.channels


def _role_manager(process: Process, sla: Sla) -> str:
    """The role an unassigned task escalates to: the owner role's manager (else the owner)."""
    owner = process.find_role(sla.owner)
    return owner.manager if owner is not None and owner.manager else sla.owner


def _person_audience(person: Person) -> Audience:
    audience = Audience()
    problem = address_problem(person.email)
    if problem is None:
        audience.add(person.email)
    else:
        audience.unresolved.append(f"{person.id}: their address is not one address ({problem})")
    return audience


def _told(
    process: Process,
    sla: Sla,
    people: Directory | None,
    assignee_id: str | None,
    step: int,
    ladder: list[Person],
    detail: dict[str, Any],
) -> Person | str:
    """Who a notice goes to: one person (a manager of the ladder, the active assignee), else a
    role whose people or contact are told; noted in `detail`."""
    if step and len(ladder) >= step:
        manager = ladder[step - 1]
        detail.update(step=step, person=manager.id, assignee=assignee_id)
        return manager
    if step:
        role = _role_manager(process, sla)
        detail.update(step=step, role=role)
        return role
    assignee = people.person(assignee_id) if people and assignee_id else None
    if assignee is not None and assignee.active:
        detail.update(person=assignee.id)
        return assignee
    detail.update(role=sla.owner)
    return sla.owner


def _audience(told: Person | str, resolver: Resolver, channel: str) -> Audience:
    """The addresses of who is told on `channel`: a person's phone for an `sms`."""
    if isinstance(told, str):
        return resolver.resolve((told,), channel)
    if channel != SMS:
        return _person_audience(told)
    phones = Audience()
    phone_audience(told, told.id, phones)
    return phones


def _ladder(people: Directory | None, assignee: str | None, step: int) -> list[Person]:
    """The managers above the assignee, up to `step + 1` of them ([] when unassigned)."""
    if people is None or assignee is None or people.person(assignee) is None:
        return []
    return manager_chain(people, assignee, limit=step + 1)


def _text(
    process: Process, state: State, instance: str, at: datetime, escalate: bool
) -> tuple[str, str]:
    what = process.title or process.id
    shown = state.status or state.name
    if escalate:
        subject = f"Escalation: {what} {instance} is still overdue ({shown})"
        body = (
            f"{instance} ({process.id}) is still in '{shown}' at {at.isoformat()}, past its "
            "due time and the owner's follow-up; please step in."
        )
    else:
        subject = f"Overdue: {what} {instance} ({shown})"
        body = (
            f"{instance} ({process.id}) was due by {at.isoformat()} and is still in "
            f"'{shown}'; please follow up."
        )
    return subject, body


def due_at(tx: Transaction, record: InstanceRecord) -> datetime | None:
    """When the instance's current state is due: its pending overdue timer, else the time
    noted when it entered the state (the overdue notice has fired since)."""
    for timer in tx.timers(record.id):
        if timer.name == OVERDUE and timer.state == record.state:
            return timer.due_at
    for event in reversed(tx.events(record.id)):
        if event.kind == "sla":
            continue
        if event.dest == record.state:
            for note in event.detail.get("timers", ()):
                if note.get("name") == OVERDUE and "due_at" in note:
                    return from_iso(str(note["due_at"]))
            return None
    return None


def fire_notice(
    tx: Transaction,
    cp: CompiledProcess,
    timer: TimerRecord,
    at: datetime,
    keys: AuditKeys,
    people: Directory | None = None,
) -> tuple[str, int]:
    """Queue the notice of a claimed SLA timer and record it; returns (state, messages queued).

    Nothing is sent when the instance is gone or no longer in the timer's state (its timers are
    cancelled on leaving, so this only guards against a definition changed under it).
    """
    record = tx.get_instance(timer.instance)
    state = cp.process.find_state(timer.state)
    if record is None or state is None or state.sla is None or record.state != timer.state:
        return ("" if record is None else record.state, 0)
    sla = state.sla
    escalate = timer.name == ESCALATE
    step = int(timer.data.get("step", 1)) if escalate else 0
    values = cp.codec.decode(record.data)
    resolver = Resolver(cp.process, values, people, record.assignee, state.owner, state.queue)
    ladder = _ladder(people, record.assignee, step) if escalate else []
    detail: dict[str, Any] = {"notice": "escalation" if escalate else "overdue"}
    told = _told(cp.process, sla, people, record.assignee, step, ladder, detail)
    subject, body = _text(cp.process, state, record.id, timer.due_at, escalate)
    queued: list[int] = []
    unresolved: list[str] = []
    for channel in _channels(sla, escalate):
        audience = _audience(told, resolver, channel)
        entry = outbox_entry(
            record.id, channel, audience.addresses, (), subject, body, at, audience.unresolved
        )
        queued.append(tx.add_outbox(entry).id or 0)
        detail["sms_to" if channel == SMS else "to"] = audience.addresses
        unresolved += [why for why in audience.unresolved if why not in unresolved]
    detail.update(
        timer=timer.name, channels=list(sla.channels), outbox=queued, due_at=to_iso(timer.due_at)
    )
    if unresolved:
        detail["unresolved"] = unresolved
    if sla.escalate_after is not None:
        nxt = _next_escalation(step, ladder)
        if nxt is not None:
            later = _escalation_due(cp, sla, timer.due_at)
            data = {"step": nxt}
            tx.add_timer(TimerRecord(record.id, ESCALATE, timer.state, ESCALATE, later, at, data))
            detail["escalate_at"] = to_iso(later)
    chain = HistoryChain(tx, record, keys)
    chain.add("sla", at=at, actor="timer", source=record.state, detail=detail)
    chain.save(record, updated_at=at)
    return (record.state, len(queued))


def _next_escalation(step: int, ladder: list[Person]) -> int | None:
    """The step after `step` (0: the overdue notice), or None when the ladder ends.

    The first escalation always follows the overdue notice; a later one only while the
    assignee's chain of managers goes higher.
    """
    if step == 0:
        return 1
    # `ladder` holds up to step + 1 managers: one more than this step means one more rung
    return step + 1 if len(ladder) > step else None
