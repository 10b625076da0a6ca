"""SLAs: the overdue notice to a state's owner and the escalation to the owner's manager.

A state with `sla` gets engine timers, stored as ordinary timer rows so that leaving the state
cancels them and re-entering restarts them like any other timer:

    sla.overdue    armed on entering, at `due` after it (working time when `sla.calendar` is set)
    sla.escalate   armed when the overdue notice fires, `escalate_after` after the due time
                   (in the same calendar: `2d` is two working days past the due time)

Their names contain a dot, which a declared timer name never does, so they cannot collide with
the process's own timers. When one fires, `fire_notice` puts one outbox message per SLA channel
(`email`, and `sms` for the seed 004 cell phone alert, which only the owner gets) addressed to
the role's contact, and one
history event of kind `sla` — in the transaction that claimed the timer, so it is sent once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from ..audit.keys import AuditKeys
from ..calendar import BusinessCalendar
from ..model import Process, Sla, State
from ..store.base import (
    EventRecord,
    InstanceRecord,
    OutboxRecord,
    TimerRecord,
    Transaction,
    from_iso,
    to_iso,
)
from .actions import resolve_addresses
from .compiled import CompiledProcess
from .executor import HistoryChain
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
    (seed 004: "Send cell phone alert to Owner"), so the manager's escalation skips it."""
    if not escalate:
        return sla.channels
    return tuple(c for c in sla.channels if c != "sms") or sla.channels


def _addressee(process: Process, sla: Sla, escalate: bool) -> str:
    """The role a notice goes to: the owner, or for the escalation the owner's manager."""
    if not escalate:
        return sla.owner
    owner = process.find_role(sla.owner)
    return owner.manager if owner is not None and owner.manager else sla.owner


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
    tx: Transaction, cp: CompiledProcess, timer: TimerRecord, at: datetime, keys: AuditKeys
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
    role = _addressee(cp.process, sla, escalate)
    values = cp.codec.decode(record.data)
    to, unresolved = resolve_addresses((role,), cp.process, values)
    subject, body = _text(cp.process, state, record.id, timer.due_at, escalate)
    queued: list[int] = []
    for channel in _channels(sla, escalate):
        message = tx.add_outbox(OutboxRecord(record.id, channel, tuple(to), (), subject, body, at))
        queued.append(message.id or 0)
    detail: dict[str, Any] = {
        "notice": "escalation" if escalate else "overdue",
        "timer": timer.name,
        "role": role,
        "to": to,
        "channels": list(sla.channels),
        "outbox": queued,
        "due_at": to_iso(timer.due_at),
    }
    if unresolved:
        detail["unresolved"] = unresolved
    if not escalate and sla.escalate_after is not None:
        later = _escalation_due(cp, sla, timer.due_at)
        tx.add_timer(TimerRecord(record.id, ESCALATE, timer.state, ESCALATE, later, at))
        detail["escalate_at"] = to_iso(later)
    chain = HistoryChain(tx, record, keys)
    chain.add(
        EventRecord(record.id, 0, at, "timer", None, "sla", None, record.state, None, {}, detail)
    )
    tx.update_instance(
        replace(record, rev=record.rev + 1, seq=chain.seq, head=chain.head, updated_at=at),
        expected_rev=record.rev,
    )
    return (record.state, len(queued))
