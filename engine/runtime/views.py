"""What the engine returns: read-only views of instances, queues, timer firings and checks.

Each view has `to_json()` giving the keys of the CLI's `--json` output, which scripts rely on:
its keys are a contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field
from datetime import datetime
from typing import Any

from ..audit.problems import VerifyProblem
from ..frozen import frozen
from ..messages.adapters import message_json
from ..store.base import EventRecord, OutboxRecord
from .data import DataCodec

__all__ = [
    "ChildView",
    "Fired",
    "InstanceView",
    "JobView",
    "QueueItem",
    "QueueView",
    "TimerView",
    "VerifyProblem",
    "VerifyReport",
    "event_json",
    "outbox_json",
]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@frozen
class TimerView:
    """A pending timer of an instance."""

    name: str
    trigger: str
    due_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "trigger": self.trigger, "due_at": _iso(self.due_at)}


@frozen
class ChildView:
    """One task instance of a request, as the request's `show` lists it.

    `waiting` tasks have dependencies that have not completed (`waiting_on`); `released` says
    that all of them completed (always true for a task without dependencies).
    """

    id: str
    task: str | None
    process: str
    state: str
    status: str
    closure_reason: str
    waiting: bool = False
    released: bool = True
    waiting_on: tuple[str, ...] = ()
    terminal: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "process": self.process,
            "state": self.state,
            "status": self.status,
            "closure_reason": self.closure_reason,
            "waiting": self.waiting,
            "released": self.released,
            "waiting_on": list(self.waiting_on),
            "terminal": self.terminal,
        }


@frozen
class JobView:
    """A job as `fulfil jobs`, `show` and the worker API see it."""

    id: int
    type: str
    instance: str
    state: str
    trigger: str
    payload: dict[str, Any]
    key: str
    attempt: int
    failures: int
    retries: int
    worker: str
    due_at: datetime
    lease_until: datetime | None
    error: str
    created_at: datetime
    completed_at: datetime | None

    def task_json(self) -> dict[str, Any]:
        """What a fetch hands a worker: `{id, type, instance, payload, attempt, key}`."""
        return {
            "id": self.id,
            "type": self.type,
            "instance": self.instance,
            "payload": self.payload,
            "attempt": self.attempt,
            "key": self.key,
        }

    def to_json(self) -> dict[str, Any]:
        """The `fulfil jobs --json` entry (and `show --json`'s `jobs`)."""
        return {
            **self.task_json(),
            "state": self.state,
            "on_complete": self.trigger,
            "failures": self.failures,
            "retries": self.retries,
            "worker": self.worker or None,
            "due_at": _iso(self.due_at),
            "lease_until": _iso(self.lease_until),
            "error": self.error or None,
            "created_at": _iso(self.created_at),
            "completed_at": _iso(self.completed_at),
        }


@frozen(slots=True)
class InstanceView:
    """An instance as it is now; `data` holds typed values (dates as `date`)."""

    id: str
    process: str
    version: int
    state: str
    status: str
    closure_reason: str
    data: dict[str, Any]
    triggers: tuple[str, ...]
    timers: tuple[TimerView, ...]
    parent: str | None
    task: str | None
    children: tuple[ChildView, ...]
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    rev: int
    terminal: bool = False
    waiting_on: tuple[str, ...] = ()  # a task's dependencies that have not completed
    due_at: datetime | None = None  # the current state's SLA due time
    owner: str | None = None  # the role owning the work now (the SLA's owner, else the state's)
    acted_as: tuple[str, str | None] | None = None  # who did the start/fire returning this view
    assignee: str | None = None  # the person the work is assigned to (claim / assign)
    jobs: tuple[JobView, ...] = ()  # the work its steps handed to other systems
    path: tuple[str, ...] = ()  # the compound states around `state`, outermost first, and it

    def to_json(self) -> dict[str, Any]:
        """The `show --json` object (with `acted_as` on what a start or fire returns)."""
        out = {
            "id": self.id,
            "process": self.process,
            "version": self.version,
            "state": self.state,
            "path": list(self.path or (self.state,)),
            "status": self.status,
            "closure_reason": self.closure_reason,
            "data": {k: DataCodec.encode_value(v) for k, v in self.data.items()},
            "triggers": list(self.triggers),
            "timers": [t.to_json() for t in self.timers],
            "parent": self.parent,
            "task": self.task,
            "children": [c.to_json() for c in self.children],
            "waiting": bool(self.waiting_on),
            "waiting_on": list(self.waiting_on),
            "terminal": self.terminal,
            "rev": self.rev,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "last_activity_at": _iso(self.last_activity_at),
            "due_at": _iso(self.due_at),
            "owner": self.owner,
            "assignee": self.assignee,
            "jobs": [job.to_json() for job in self.jobs],
        }
        if self.acted_as is not None:
            out["acted_as"] = {"person": self.acted_as[0], "role": self.acted_as[1]}
        return out


@frozen
class QueueItem:
    """One instance in a queue listing."""

    id: str
    process: str
    state: str
    status: str
    queue: str | None
    owner: str | None
    created_at: datetime
    last_activity_at: datetime
    parent: str | None = None
    task: str | None = None
    assignee: str | None = None
    service: str | None = None  # its `service` field (Facebook, PDM, RM...)
    priority: str | None = None  # its `priority` field (normal unless escalated)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "process": self.process,
            "state": self.state,
            "status": self.status,
            "queue": self.queue,
            "owner": self.owner,
            "assignee": self.assignee,
            "parent": self.parent,
            "task": self.task,
            "service": self.service,
            "priority": self.priority,
            "created_at": _iso(self.created_at),
            "last_activity_at": _iso(self.last_activity_at),
        }


SERVICES = ("Facebook", "PDM", "RM")
"""The dashboard's services, in its order; other services follow by name, then the
work without a service."""


def service_order(services: Iterable[str | None]) -> list[str | None]:
    """The services of a listing in the dashboard's order (None, no service, last)."""
    found = set(services)
    named = sorted(s for s in found if s is not None and s not in SERVICES)
    return [s for s in SERVICES if s in found] + named + ([None] if None in found else [])


@frozen
class QueueView:
    """The dashboard: work ready to start, and work in progress."""

    ready: tuple[QueueItem, ...] = ()
    in_progress: tuple[QueueItem, ...] = ()
    incidents: tuple[JobView, ...] = ()  # jobs of the listed work that ran out of retries

    def by_service(self) -> list[tuple[str | None, list[QueueItem], list[QueueItem]]]:
        """The dashboard separated by service: each service with its ready work
        and its work in progress, in the orders of `ready` and `in_progress`."""
        every = [*self.ready, *self.in_progress]
        return [
            (
                service,
                [i for i in self.ready if i.service == service],
                [i for i in self.in_progress if i.service == service],
            )
            for service in service_order(i.service for i in every)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "ready": [i.to_json() for i in self.ready],
            "in_progress": [i.to_json() for i in self.in_progress],
            "by_service": [
                {
                    "service": service,
                    "ready": [i.id for i in ready],
                    "in_progress": [i.id for i in in_progress],
                }
                for service, ready, in_progress in self.by_service()
            ],
            "incidents": [j.to_json() for j in self.incidents],
        }


@frozen
class Fired:
    """A timer `tick` fired (or tried to: `refused` holds why it could not)."""

    instance: str
    timer: str
    trigger: str
    due_at: datetime
    at: datetime
    state: str
    refused: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "timer": self.timer,
            "trigger": self.trigger,
            "due_at": _iso(self.due_at),
            "at": _iso(self.at),
            "state": self.state,
            "refused": self.refused,
        }


@frozen
class VerifyReport:
    """The result of checking history chains and replaying instances.

    `keys` are the ids of the audit keys given (empty: the chain was checked unkeyed);
    `notes` say what the check can and cannot vouch for (unkeyed events, for one).
    """

    checked: int = 0
    problems: tuple[VerifyProblem, ...] = field(default=())
    events: int = 0
    keys: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "events": self.events,
            "keyed": bool(self.keys),
            "keys": list(self.keys),
            "notes": list(self.notes),
            "problems": [
                {"instance": p.instance or None, "seq": p.seq, "message": p.message}
                for p in self.problems
            ],
        }


def event_json(event: EventRecord) -> dict[str, Any]:
    """One `history --json` entry."""
    return {
        "seq": event.seq,
        "at": _iso(event.at),
        "actor": event.actor,
        "role": event.role,
        "kind": event.kind,
        "trigger": event.trigger,
        "source": event.source,
        "dest": event.dest,
        "data": event.data,
        "detail": event.detail,
        "hash": event.hash,
    }


def outbox_json(message: OutboxRecord) -> dict[str, Any]:
    """One `outbox --json` entry: the message as adapters send it, attachments by file name,
    and its delivery status."""
    entry = message_json(message)
    entry["attachments"] = [attachment["filename"] for attachment in entry["attachments"]]
    entry.update(
        status=message.status,
        attempts=message.attempts,
        error=message.error,
        delivered_at=_iso(message.delivered_at),
    )
    return entry
