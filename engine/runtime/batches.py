"""Batch steps (fulfilment lists): gathering instances and sending one CSV per period.

An instance entering a state with `batch` joins the batch of the period it arrived in: a
`batch_members` row (process, state, instance, period) where `period` is the occurrence the batch
is sent at (`next_occurrence(every, entered_at)`), so a batch sent at an occurrence holds the
instances that reached the step since the previous one. Leaving the state before the batch goes
drops the row; entering it again joins the then-current period.

The recurrence timer is per (process, state), not per instance. It is an ordinary timer row so
the tick finds it through the same due index and claims it the same way (exactly once): its
`instance` is empty (no instance has an empty id), `name` is `batch`, `state` the batch state,
`trigger` the batch's trigger, `data` `{"process": id}` and `due_at` the occurrence. It is
created by the first instance joining a period, so an empty period has no timer and sends
nothing, and no row is kept for periods nobody joined.

When it fires, `send_batch` in the claiming transaction takes the period's members (marking them
sent, so each instance is in exactly one batch), writes one CSV of the batch's columns, puts one
outbox message per recipient (address, subject, the note as body, the CSV as an attachment) and
fires the batch's trigger on every member: all of it commits together or not at all. A batch
with `start` is one task (a fulfilment list is another kind of task): one instance of that
process is started with the list (its due date, owner and alerts are that instance's), and
every member's event names it under `started`.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..expressions import compile_expr
from ..expressions.exprtypes import BATCH_FACTS
from ..frozen import record
from ..store.base import BatchMember, OutboxRecord, TimerRecord, Transaction, to_iso

# Recurrences and the CSV writer are imported when a batch is joined or sent: a command that
# meets no batch state (every `show`, most `fire`s) does not load them.

if TYPE_CHECKING:  # the executor calls join_batch: import it for types only
    from .compiled import CompiledProcess
    from .definitions import Definitions
    from .executor import Executor, Outcome

__all__ = [
    "BATCH_OWNER",
    "BATCH_TIMER",
    "BatchSent",
    "join_batch",
    "reference",
    "retry_batch",
    "send_batch",
]

BATCH_OWNER = ""
"""The `instance` of a batch's recurrence timer: no instance has an empty id."""
BATCH_TIMER = "batch"


@record
class BatchSent:
    """What sending one batch did."""

    reference: str
    members: list[str] = field(default_factory=list)
    outbox: list[int] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def reference(process: str, state: str) -> str:
    """The name a batch's messages carry in the outbox's `instance` column."""
    return f"batch:{process}:{state}"


def join_batch(
    tx: Transaction, cp: CompiledProcess, instance_id: str, state: str, now: datetime
) -> dict[str, Any]:
    """Add the instance to the batch of the current period; a note for the history event."""
    batch = cp.batches[state]
    from ..clock.recurrence import next_occurrence

    period = next_occurrence(batch.every, now)
    process = cp.process.id
    tx.add_batch_member(BatchMember(process, state, instance_id, period, now))
    armed = any(
        t.name == BATCH_TIMER
        and t.state == state
        and t.data.get("process") == process
        and t.due_at == period
        for t in tx.timers(BATCH_OWNER)
    )
    if not armed:
        tx.add_timer(
            TimerRecord(
                BATCH_OWNER, BATCH_TIMER, state, batch.trigger, period, now, {"process": process}
            )
        )
    return {"name": BATCH_TIMER, "batch": state, "due_at": to_iso(period)}


def send_batch(tx: Transaction, executor: Executor, timer: TimerRecord, at: datetime) -> BatchSent:
    """Send the batch a claimed recurrence timer stands for (see the module docstring).

    Raises:
        ExecutionError: a member refused the batch's trigger; the transaction must roll back.
    """
    process = str(timer.data.get("process", ""))
    ref = reference(process, timer.state)
    sent = BatchSent(ref)
    assert timer.id is not None
    members = tx.take_batch(process, timer.state, timer.due_at, timer.id)
    if not members:
        return sent
    loaded = [executor.load(tx, m.instance) for m in members]
    cp = loaded[0][1]
    batch = cp.batches.get(timer.state)
    if batch is None:
        return sent  # the definition no longer batches this state: nothing to send
    rows = [member_cp.codec.decode(record.data) for record, member_cp in loaded]
    from ..clock.recurrence import previous_occurrence
    from ..messages.csvbatch import CSV_CONTENT_TYPE, attachment_name, build_csv

    start = previous_occurrence(batch.every, timer.due_at)
    filename = attachment_name(f"{process}-{timer.state}", start)
    attachment = (filename, CSV_CONTENT_TYPE, build_csv(batch.columns, rows))
    for recipient in batch.recipients:
        queued = tx.add_outbox(
            OutboxRecord(
                ref,
                "email",
                (recipient.address,),
                (),
                recipient.subject,
                recipient.note,
                at,
                attachments=(attachment,),
            )
        )
        sent.outbox.append(queued.id or 0)
    detail: dict[str, Any] = {
        "timer": BATCH_TIMER,
        "batch": ref,
        "period": to_iso(start),
        "due_at": to_iso(timer.due_at),
        "size": len(members),
        "outbox": sent.outbox,
    }
    if batch.start is not None:
        # the list is one task: started once, named after the member that opened the period
        facts = {
            "list_size": len(members),
            "list_contacts": [m.instance for m in members],
            "list_period": start,
            "list_sent_at": at,
        }
        given = {}
        for name, expr in batch.start.data:
            value = compile_expr(expr, BATCH_FACTS).evaluate(facts)
            if value is not None:
                given[name] = value
        task = executor.start_other(
            tx,
            members[0].instance,
            batch.trigger,
            batch.start.process,
            given,
            actor="timer",
            now=at,
        )
        detail["started"] = [task.id]
    for member, _ in loaded:
        outcome = executor.fire(
            tx,
            member.id,
            batch.trigger,
            None,
            actor="timer",
            role=None,
            now=max(at, member.updated_at),
            kind="timer",
            internal=True,
            detail=detail,
        )
        sent.members.append(member.id)
        sent.outcomes.append(outcome)
    return sent


def retry_batch(
    tx: Transaction, definitions: Definitions, timer: TimerRecord, now: datetime
) -> None:
    """After a batch could not be sent (a member refused its trigger), arm the next
    occurrence: the members stay unsent and go with the next batch."""
    process = str(timer.data.get("process", ""))
    batch = definitions.for_start(tx, process).batches.get(timer.state)
    if batch is None:
        return
    from ..clock.recurrence import next_occurrence

    period = next_occurrence(batch.every, max(now, timer.due_at))
    tx.add_timer(
        TimerRecord(BATCH_OWNER, BATCH_TIMER, timer.state, timer.trigger, period, now, timer.data)
    )
