"""The plain-text output of the runtime commands (`show`, `history`, `queue`, `outbox`, `tick`).

The counterpart of the views' `to_json()`: each function turns a view or record into the lines
the CLI prints, so `cli.py` stays the click layer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ..store.base import EventRecord, OutboxRecord
from .views import ChildView, Fired, InstanceView, JobView, QueueItem, QueueView, VerifyReport

__all__ = [
    "checkpoint_line",
    "child_line",
    "event_line",
    "fired_line",
    "instance_lines",
    "job_line",
    "outbox_line",
    "past_timer_warnings",
    "queue_lines",
    "tick_lines",
    "verify_lines",
]


def instance_lines(view: InstanceView) -> list[str]:
    """`show`: state and status, data set, what it waits on, triggers now, timers, tasks."""
    reason = f" / {view.closure_reason}" if view.closure_reason else ""
    lines = [f"{view.id}  {view.process} v{view.version}  {view.state} ({view.status}{reason})"]
    lines.append(f"  assignee: {view.assignee or 'nobody (unassigned)'}")
    for name, value in view.to_json()["data"].items():
        if value is not None:
            lines.append(f"  {name}: {value}")
    if view.waiting_on:
        lines.append(f"  waiting on: {', '.join(view.waiting_on)} (in no queue until released)")
    lines.append(f"  triggers now: {', '.join(view.triggers) or 'none'}")
    for timer in view.timers:
        lines.append(f"  timer {timer.name} -> {timer.trigger} at {timer.due_at.isoformat()}")
    lines.extend(child_line(child) for child in view.children)
    lines.extend(job_line(job) for job in view.jobs)
    return lines


def job_line(job: JobView) -> str:
    """One line of a job: id, type, state, instance, attempts, and its error or worker."""
    tail = ""
    if job.state in ("failed", "incident") and job.error:
        tail = f"  error: {job.error}"
    elif job.state == "locked":
        until = job.lease_until.isoformat() if job.lease_until else "?"
        tail = f"  held by {job.worker} until {until}"
    elif job.state == "failed":
        tail = f"  retried at {job.due_at.isoformat()}"
    return (
        f"  job {job.id} {job.type} [{job.state}] {job.instance} -> {job.trigger}  "
        f"attempt {job.attempt}, failures {job.failures}/{job.retries}{tail}"
    )


def child_line(child: ChildView) -> str:
    """The `show` line of a request's task: task, id, state, status, waiting or released."""
    reason = f" / {child.closure_reason}" if child.closure_reason else ""
    if child.waiting:
        mark = f"waiting on {', '.join(child.waiting_on)}"
    else:
        mark = "released" if child.released else "not released"
    return f"  task {child.task}: {child.id}  {child.state} ({child.status}{reason})  {mark}"


def past_timer_warnings(view: InstanceView, now: datetime) -> list[str]:
    """Which timers a step scheduled in the past (the next tick fires them), one line each."""
    return [
        f"warning: timer '{timer.name}' of {view.id} was due at "
        f"{timer.due_at.isoformat()}, before now ({now.isoformat()}); "
        "the next `fulfil tick` fires it"
        for timer in view.timers
        if timer.due_at < now
    ]


def event_line(event: EventRecord) -> str:
    """One `history` line: seq, time, who, what happened, its data or detail."""
    e = event
    who = f"{e.actor}:{e.role}" if e.role else e.actor
    move = f"{e.source or ''} -> {e.dest}".lstrip() if e.dest else (e.source or "")
    what = " ".join(part for part in (e.kind, e.trigger or "", move) if part)
    extra = json.dumps(e.data or e.detail, default=str) if (e.data or e.detail) else ""
    return f"{e.seq:>3} {e.at.isoformat()} {who}: {what} {extra}".rstrip()


def _queue_line(item: QueueItem, indent: str) -> str:
    escalated = "  ESCALATED" if item.priority == "escalated" else ""
    return (
        f"{indent}{item.id}  {item.process}  {item.status}{escalated}  "
        f"{'assigned to ' + item.assignee if item.assignee else 'unassigned'}  "
        f"last activity {item.last_activity_at.isoformat()}"
    )


def queue_lines(view: QueueView) -> list[str]:
    """`queue`: work ready to start, then work in progress, each with its last activity;
    separated by service (Facebook, PDM, RM, then the others) when the work names its service."""
    lines = []
    groups = view.by_service()
    grouped = any(service is not None for service, _, _ in groups)
    ready = [(service, items) for service, items, _ in groups]
    working = [(service, items) for service, _, items in groups]
    for title, items, parts in (
        ("Ready to work", view.ready, ready),
        ("In progress", view.in_progress, working),
    ):
        lines.append(f"{title} ({len(items)})")
        if not grouped:
            lines.extend(_queue_line(item, "  ") for item in items)
            continue
        for service, listed in parts:
            if listed:
                lines.append(f"  {service or 'Other'} ({len(listed)})")
                lines.extend(_queue_line(item, "    ") for item in listed)
    if view.incidents:
        lines.append(f"Incidents ({len(view.incidents)}): jobs out of retries")
        lines.extend(job_line(job) for job in view.incidents)
    return lines


def outbox_line(message: OutboxRecord) -> str:
    """One `outbox` line: id, status, channel, recipients, subject, attempts and error."""
    m = message
    cc = f" cc {', '.join(m.cc)}" if m.cc else ""
    tried = f" attempts {m.attempts}" if m.attempts else ""
    error = f" error: {m.error}" if m.error else ""
    return f"{m.id:>3} [{m.status}] {m.channel} to {', '.join(m.to)}{cc}: {m.subject}{tried}{error}"


def fired_line(fired: Fired) -> str:
    """One timer fired (or refused, and why), as `tick` and the worker print it."""
    outcome = f"refused: {fired.refused}" if fired.refused else f"-> {fired.state}"
    return f"{fired.at.isoformat()} {fired.instance} {fired.timer} ({fired.trigger}) {outcome}"


def tick_lines(fired: Sequence[Fired]) -> list[str]:
    """`tick`: each timer fired (or refused, and why), then how many."""
    return [*(fired_line(f) for f in fired), f"fired {len(fired)} timer(s)"]


def verify_lines(report: VerifyReport) -> list[str]:
    """`verify`: what the check cannot vouch for, then the count and the verdict."""
    lines = [f"note: {note}" for note in report.notes]
    mode = f"keyed ({', '.join(report.keys)})" if report.keys else "unkeyed"
    verdict = "ok" if report.ok else f"MISMATCH ({len(report.problems)} problem(s))"
    lines.append(
        f"verified {report.checked} instance(s), {report.events} event(s), {mode}: {verdict}"
    )
    return lines


def checkpoint_line(path: object, body: dict[str, object]) -> str:
    """`verify --export-checkpoint`: what the file holds and how it is signed."""
    instances = body.get("instances")
    count = len(instances) if isinstance(instances, dict) else 0
    key = body.get("key")
    signed = f"signed with key '{key}'" if key else "UNSIGNED (no audit key: give one to sign)"
    return f"wrote checkpoint {path}: {count} instance(s), {body.get('events')} event(s), {signed}"
