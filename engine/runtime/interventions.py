"""Interventions: an operator's corrections of running work, each audited like a step.

    cancel   the instance goes to the engine's terminal state `Cancelled` (status Closed,
             closure reason Cancelled); its pending timers, its batch membership, its open
             jobs and its pending outbox messages are dropped. A request's open tasks are
             cancelled with it (each with its own event naming the request); a task cancelled
             on its own has ended with the outcome failed, so its request's rules run as for
             any task that ends (its dependants stay waiting)
    set      field values corrected, checked like the data of a fire (types, enums, required
             fields not cleared); no trigger fires, no action runs
    move     the instance is put in another state of its definition: the old state's timers
             (and batch) are cancelled, the new state's armed as on entry; no action runs
    retry    a failed outbox message is queued again (attempts start over)
    drop     a failed (or pending) outbox message will not be sent

Each is one transaction that writes one `intervention` history event through the instance's
hash chain: the person and role, `trigger` the action, `source`/`dest` the states, `data` the
field values it set, and `detail` `{action, reason, before, after, ...}`. `fulfil verify`
replays it: a move or cancel must land in a state the definition has (or Cancelled), a set's
values are applied like a transition's.

Who may (with a people directory): a person holding the role `operator`, or one of the
process's manager roles (a role some role names as its `manager`, e.g. ops_lead). A refusal is
recorded as a `refused` event, as a refused fire is. Without a directory (open mode) anyone
may, and the event names the actor given. A reason is always required.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from ..errors import InstanceClosed, NotFound, RoleRefused, UsageError, did_you_mean
from ..people.directory import OPERATOR, Directory, unknown_person
from ..store.base import InstanceRecord, OutboxRecord, Transaction
from .assigning import manager_roles
from .compiled import CANCELLED, CompiledProcess
from .executor import Executor, Outcome, check_not_before
from .history import HistoryChain
from .step import builtins

__all__ = [
    "INSTANCE_ACTIONS",
    "MESSAGE_ACTIONS",
    "OPERATOR",
    "BulkItem",
    "BulkReport",
    "Interventions",
    "change_of",
    "check_reason",
]

INSTANCE_ACTIONS = ("cancel", "set", "move")
MESSAGE_ACTIONS = ("retry", "drop")
DROPPED = "dropped"


def check_reason(reason: str | None, action: str) -> str:
    """The reason, trimmed; an intervention without one is refused before anything is read.

    Raises:
        UsageError: no reason, or only spaces.
    """
    text = (reason or "").strip()
    if not text:
        raise UsageError(
            f"{action} needs a reason for the audit trail: --reason TEXT "
            '(e.g. --reason "duplicate of facebook_access-3")'
        )
    return text


@dataclass(frozen=True)
class BulkItem:
    """What a bulk intervention did (or would do) to one instance."""

    instance: str
    done: bool
    error: str
    changes: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "done": self.done,
            "error": self.error or None,
            "changes": self.changes,
        }


@dataclass(frozen=True)
class BulkReport:
    """A bulk intervention's summary: each instance, done or refused (with the reason)."""

    action: str
    dry_run: bool
    items: tuple[BulkItem, ...]

    @property
    def done(self) -> int:
        return sum(1 for item in self.items if item.done)

    @property
    def refused(self) -> int:
        return len(self.items) - self.done

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "done": self.done,
            "refused": self.refused,
            "items": [item.to_json() for item in self.items],
        }


def change_of(before: Any, after: Any) -> dict[str, Any]:
    """What differs between two views of an instance: state and field values, old -> new;
    a request's tasks whose state changed with it as `task ID`."""
    changes: dict[str, Any] = {}
    if before.state != after.state:
        changes["state"] = [before.state, after.state]
    old, new = before.to_json()["data"], after.to_json()["data"]
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes[name] = [old.get(name), new.get(name)]
    was = {child.id: child.state for child in before.children}
    for child in after.children:
        if child.id in was and was[child.id] != child.state:
            changes[f"task {child.id}"] = [was[child.id], child.state]
    return changes


@dataclass(frozen=True)
class Who:
    """The person (or open-mode actor) intervening, and the role they act in."""

    actor: str
    role: str | None


class Interventions:
    """One intervention on one instance (or message), inside an open transaction."""

    def __init__(self, executor: Executor, people: Directory | None) -> None:
        self.executor = executor
        self.people = people
        self.outcomes: list[Outcome] = []  # what the request rules a cancel ran queued

    # who may -------------------------------------------------------------------------------
    def authorise(
        self, cp: CompiledProcess, instance: str, actor: str | None, role: str | None
    ) -> Who:
        """The person and role acting on `instance` (an id, for the messages; a process id for
        a migration); raises RoleRefused when they may not intervene."""
        allowed = (OPERATOR, *manager_roles(cp.process))
        if self.people is None:
            return Who(actor or "anonymous", role)
        listed = ", ".join(allowed)
        if not actor:
            raise RoleRefused(
                f"say who you are to change '{instance}': --as PERSON (role {listed})",
                instance=instance,
            )
        person = self.people.person(actor)
        if person is None:
            raise RoleRefused(unknown_person(self.people, actor), instance=instance)
        if not person.active:
            raise RoleRefused(f"person '{actor}' is inactive and may no longer act")
        if role is not None:
            if not person.holds(role):
                raise RoleRefused(f"'{actor}' does not hold role '{role}'", instance=instance)
            if role not in allowed:
                raise RoleRefused(
                    f"role '{role}' may not change running work of {cp.process.id}; that "
                    f"needs role {listed}",
                    instance=instance,
                )
            return Who(person.id, role)
        for candidate in allowed:
            if person.holds(candidate):
                return Who(person.id, candidate)
        holds = ", ".join(person.roles) or "no role"
        raise RoleRefused(
            f"'{actor}' may not change running work of {cp.process.id}: that needs role "
            f"{listed}, and {actor} holds {holds}",
            instance=instance,
        )

    # the actions ---------------------------------------------------------------------------
    def run(
        self,
        tx: Transaction,
        action: str,
        instance_id: str,
        *,
        actor: str | None,
        role: str | None,
        reason: str,
        now: datetime,
        data: Mapping[str, Any] | None = None,
        state: str | None = None,
    ) -> tuple[InstanceRecord, bool]:
        """Apply `action` and return (the instance as stored, whether anything changed).

        Raises:
            NotFound: no such instance.
            RoleRefused: the person may not intervene.
            InstanceClosed: cancel of a closed instance.
            DataError: a correction that does not fit the fields.
            UsageError: a move to a state the version lacks, or to the state it is in.
        """
        record, cp = self.executor.load(tx, instance_id)
        who = self.authorise(cp, record.id, actor, role)
        check_not_before(record, now)
        if action == "cancel":
            return self._cancel(tx, cp, record, who, reason, now), True
        if action == "set":
            return self._set(tx, cp, record, who, reason, now, data or {})
        if action == "move":
            return self._move(tx, cp, record, who, reason, now, state or ""), True
        raise UsageError(f"unknown intervention '{action}'; one of {INSTANCE_ACTIONS}")

    def _cancel(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        who: Who,
        reason: str,
        now: datetime,
    ) -> InstanceRecord:
        if record.state in cp.terminal:
            status, closure = cp.status(record.state)
            shown = f"{status} / {closure}" if closure else status
            raise InstanceClosed(
                f"instance '{record.id}' is closed already ({shown}); nothing to cancel",
                instance=record.id,
                trigger="cancel",
            )
        stored = self._close(tx, cp, record, who, reason, now, None)
        if stored.parent is not None:
            # A task cancelled on its own ended without doing its work (outcome failed): its
            # request's rules decide what follows, as when a task fails by a transition.
            outcome = Outcome(stored, set())
            self.executor.tasks.task_ended(tx, stored, cp, now, outcome, 0)
            if outcome.sheets or outcome.messages:
                self.outcomes.append(outcome)
        return stored

    def _close(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        who: Who,
        reason: str,
        now: datetime,
        request: str | None,
    ) -> InstanceRecord:
        """Cancel one instance and, first, the open tasks of a request (recursively); the
        request's rules do not run for them: the request is closing."""
        tasks = []
        for task in tx.children(record.id):
            task_cp = self.executor.definitions.for_instance(tx, task.process, task.version)
            if task.state in task_cp.terminal:
                continue
            check_not_before(task, now)
            cited = f"its request '{record.id}' was cancelled: {reason}"
            self._close(tx, task_cp, task, who, cited, now, record.id)
            tasks.append(task.id)
        timers = self._drop_timers(tx, cp, record)
        jobs = tx.cancel_jobs(record.id)  # nobody completes work for a cancelled instance
        dropped = []
        for message in tx.outbox("pending"):
            if message.instance == record.id:
                tx.update_outbox(replace(message, status=DROPPED, error=f"cancelled: {reason}"))
                dropped.append(message.id)
        detail = _state_change(
            "cancel",
            reason,
            record.state,
            CANCELLED,
            timers_cancelled=timers,
            messages_dropped=dropped,
            jobs_cancelled=jobs,
            tasks_cancelled=tasks,
        )
        if request is not None:
            detail["request"] = request  # cancelled because its request was
        return self._write(tx, record, who, now, "cancel", CANCELLED, {}, detail)

    def _set(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        who: Who,
        reason: str,
        now: datetime,
        data: Mapping[str, Any],
    ) -> tuple[InstanceRecord, bool]:
        if not data:
            raise UsageError('say which fields to correct: --data \'{"field": "value"}\'')
        typed = cp.codec.check(data, instance=record.id)
        after = {name: cp.codec.encode_value(value) for name, value in typed.items()}
        change = {k: v for k, v in after.items() if record.data.get(k) != v}
        if not change:
            return record, False
        before = {k: record.data.get(k) for k in change}
        detail = {"action": "set", "reason": reason, "before": before, "after": change}
        return self._write(tx, record, who, now, "set", record.state, change, detail), True

    def _move(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        who: Who,
        reason: str,
        now: datetime,
        state: str,
    ) -> InstanceRecord:
        process = cp.process
        if state == CANCELLED:
            raise UsageError(f"to cancel '{record.id}', use fulfil cancel {record.id}")
        if process.find_state(state) is None:
            names = [s.name for s in process.states]
            hint = did_you_mean(state, names)
            raise UsageError(
                f"{process.id} version {process.version} has no state '{state}'"
                + (f" ({hint})" if hint else "")
            )
        if state == record.state:
            raise UsageError(f"'{record.id}' is in state '{state}' already; nothing to move")
        timers = self._drop_timers(tx, cp, record)
        variables = cp.codec.decode(record.data)
        variables.update(builtins(state, now, who.actor, who.role))
        armed = self.executor.arming.enter(tx, cp, record.id, state, variables, now)
        detail = _state_change(
            "move", reason, record.state, state, timers_cancelled=timers, timers=armed
        )
        return self._write(tx, record, who, now, "move", state, {}, detail)

    @staticmethod
    def _drop_timers(tx: Transaction, cp: CompiledProcess, record: InstanceRecord) -> list[str]:
        """Cancel every pending timer of the instance and leave its batch; their names."""
        pending = tx.timers(record.id)
        for state in sorted({t.state for t in pending}):
            tx.cancel_timers(record.id, state)
        if record.state in cp.batches:
            tx.leave_batch(record.id, record.state)
        return [t.name for t in pending]

    def _write(
        self,
        tx: Transaction,
        record: InstanceRecord,
        who: Who,
        now: datetime,
        action: str,
        dest: str,
        change: dict[str, Any],
        detail: dict[str, Any],
    ) -> InstanceRecord:
        chain = HistoryChain(tx, record, self.executor.keys)
        chain.add(
            "intervention",
            at=now,
            actor=who.actor,
            role=who.role,
            trigger=action,
            source=record.state,
            dest=dest,
            data=change,
            detail=detail,
        )
        return chain.save(record, state=dest, data={**record.data, **change}, updated_at=now)

    # outbox messages -----------------------------------------------------------------------
    def message(
        self,
        tx: Transaction,
        action: str,
        message_id: int,
        *,
        actor: str | None,
        role: str | None,
        reason: str,
        now: datetime,
    ) -> OutboxRecord:
        """Retry or drop a failed outbox message; the event goes to its instance's history.

        Raises:
            NotFound: no such message.
            UsageError: retry of a message that has not failed; drop of one sent.
            RoleRefused: the person may not intervene on the message's process.
        """
        found = [m for m in tx.outbox() if m.id == message_id]
        if not found:
            raise NotFound(f"no outbox message {message_id}; `fulfil outbox` lists them")
        message = found[0]
        if action == "retry" and message.status != "failed":
            raise UsageError(
                f"message {message_id} is {message.status}, not failed; only a failed message "
                "can be retried"
            )
        if action == "drop" and message.status not in ("failed", "pending"):
            raise UsageError(
                f"message {message_id} is {message.status}; only a failed or pending message "
                "can be dropped"
            )
        record, cp = self.executor.load(tx, message.instance)
        who = self.authorise(cp, record.id, actor, role)
        check_not_before(record, now)
        if action == "retry":
            new = replace(message, status="pending", attempts=0, error="", next_attempt_at=None)
        else:
            new = replace(message, status=DROPPED, error=f"dropped: {reason}")
        tx.update_outbox(new)
        detail = {
            "action": action,
            "reason": reason,
            "message": message_id,
            "before": {"status": message.status, "error": message.error},
            "after": {"status": new.status},
        }
        self._write(tx, record, who, now, action, record.state, {}, detail)
        return new


def _state_change(
    action: str, reason: str, before: str, after: str, **changes: list[Any] | int
) -> dict[str, Any]:
    """The detail of an intervention that changes the state; what it cancelled, dropped or
    armed (names, ids, a count) is kept only when there is some."""
    detail: dict[str, Any] = {
        "action": action,
        "reason": reason,
        "before": {"state": before},
        "after": {"state": after},
    }
    detail.update({name: items for name, items in changes.items() if items})
    return detail
