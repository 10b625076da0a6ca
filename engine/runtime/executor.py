"""What one event does inside its transaction: checks, the machine, and the writes.

`Executor` is the engine's inner half: every method takes the open `Transaction` and either
raises before writing anything or writes the whole step (instance, history events, timers,
outbox, sheet rows, parent updates, emitted events) into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..audit.keys import AuditKeys
from ..errors import (
    ClockError,
    DataError,
    ExecutionError,
    InstanceClosed,
    NotFound,
    RoleRefused,
    TriggerNotAllowed,
    did_you_mean,
)
from ..frozen import record
from ..model import AUTOMATIC, FieldType
from ..people.directory import Directory, Person
from ..people.identity import Identity, identify, pick_role, verify_person
from ..store.base import (
    InstanceRecord,
    JobRecord,
    SheetRow,
    Transaction,
)
from .actions import dated_line
from .arming import Arming
from .compiled import CompiledProcess, engine_only_refusal
from .data import refuse_undeclared, trigger_accepts
from .definitions import Definitions
from .history import HistoryChain
from .recipients import outbox_entry
from .refusals import best_refusal
from .step import Step, builtins
from .tasks import TaskReader, TaskRunner
from .timers import TimerScheduler

__all__ = ["Executor", "Outcome", "check_not_before"]

MAX_EMIT_DEPTH = 8
MAX_AUTOMATIC = 16  # automatic steps one event may set off before it is refused as a loop


@record
class Outcome:
    """What a committed step changed beyond the instance: sheets to rewrite, messages queued."""

    record: InstanceRecord
    sheets: set[str]
    messages: int = 0
    identity: Identity | None = None  # the verified person and role of a firing by hand


def check_not_before(record: InstanceRecord, now: datetime) -> None:
    """Refuse a step dated before the instance's last change: a history never goes back.

    Raises:
        ClockError: `now` (the clock, e.g. `--now`) is earlier than the last change.
    """
    if now < record.updated_at:
        raise ClockError(
            f"the clock says {now.isoformat()}, before the last change of '{record.id}' at "
            f"{record.updated_at.isoformat()}; a history cannot go back in time: give a time at "
            "or after it (--now / FULFIL_NOW)"
        )


class Executor:
    """Runs starts and events against an open transaction."""

    def __init__(
        self,
        definitions: Definitions,
        scheduler: TimerScheduler,
        keys: AuditKeys,
        people: Directory | None = None,
    ) -> None:
        self.definitions = definitions
        self.scheduler = scheduler
        self.arming = Arming(scheduler)  # entering states: their timers and batches
        self.keys = keys
        self.people = people  # None: open mode, identities are not verified
        self.tasks = TaskRunner(self)

    # identity -------------------------------------------------------------------------------
    def identify_start(
        self, tx: Transaction, process_id: str, actor: str | None, role: str | None
    ) -> tuple[str, str | None, Identity | None]:
        """Who starts an instance: (actor, role, the verified identity or None in open mode).

        A starter acts in a role the process declares (the initial state's owner first).

        Raises:
            NotFound: no such process.
            IdentityRefused, RoleRefused: the person or role may not start it.
        """
        cp = self.definitions.for_start(tx, process_id)
        process = cp.process
        declared = [r.name for r in process.roles]
        if role is not None and declared and role not in declared:
            hint = did_you_mean(role, declared)
            raise RoleRefused(
                f"role '{role}' is not a role of {process.id}" + (f" ({hint})" if hint else "")
            )
        if self.people is None:
            return actor or "anonymous", role, None
        owner = process.initial.owner
        accepted = tuple(dict.fromkeys([*([owner] if owner else []), *declared])) or None
        who = identify(self.people, actor, role, accepted, f"start {process.id}")
        return who.person.id, who.role, who

    def identify_fire(
        self,
        cp: CompiledProcess,
        record: InstanceRecord,
        trigger: str,
        actor: str | None,
        role: str | None,
        person: Person | None = None,
    ) -> tuple[str, str | None, Identity | None]:
        """Who fires a trigger by hand: (actor, role, the verified identity or None).

        `person` is the caller already verified (`verify_person`), else it is verified here.

        Raises:
            RoleRefused: only the engine fires the trigger in this state (a timer, a rule...).
            IdentityRefused, RoleRefused: the person or role may not fire it.
        """
        fired_by = cp.engine_only(record.state, trigger)
        if fired_by is not None:
            raise engine_only_refusal(record.id, trigger, fired_by)
        self.check_role(cp, role, record)
        if self.people is None:
            return actor or "anonymous", role, None
        doing = f"fire '{trigger}'"
        if person is None:
            person = verify_person(
                self.people, actor, role, doing, instance=record.id, trigger=trigger
            )
        accepted = cp.hand_roles(record.state, trigger)
        who = pick_role(person, role, accepted, doing, instance=record.id, trigger=trigger)
        return person.id, who.role, who

    # starting -------------------------------------------------------------------------------
    def start(
        self,
        tx: Transaction,
        process_id: str,
        data: Mapping[str, Any] | None,
        *,
        instance_id: str | None,
        actor: str,
        role: str | None,
        now: datetime,
        parent: str | None = None,
        task: str | None = None,
        waiting_on: tuple[str, ...] = (),
        started_by: str | None = None,
    ) -> InstanceRecord:
        """Create an instance in its initial state, with its start event and timers.

        A request's tasks are started with it. A task `waiting_on` dependencies arms no timers
        (they start when it is released). `started_by` is the instance whose step starts this
        one (a `start` action), noted in the start event.
        """
        cp = self.definitions.for_start(tx, process_id)
        given = cp.codec.check(data)
        if task is None and started_by is None:
            # a request's task, or an instance a `start` action starts, gets what the
            # definition computes; people's data is limited to `start.input`
            refuse_undeclared(given, cp.process.start_accepts, "start")
        values = cp.codec.initial(given)
        process = cp.process
        if instance_id is None:
            instance_id = f"{process.id}-{tx.next_number(process.id)}"
            while tx.get_instance(instance_id) is not None:
                # an id given by hand (`--id facebook_access-5`) took this number: skip it
                instance_id = f"{process.id}-{tx.next_number(process.id)}"
        elif not instance_id.strip():
            raise ExecutionError("an instance id cannot be empty")
        state = process.initial.name
        stored = cp.codec.encode(values)
        record = InstanceRecord(
            instance_id, process.id, process.version, state, stored, now, now, now, parent, task
        )
        variables = {**values, **builtins(state, now, actor, role)}
        notes = [] if waiting_on else self.arming.enter(tx, cp, instance_id, state, variables, now)
        detail: dict[str, Any] = {"process": process.id, "version": process.version}
        if notes:
            detail["timers"] = notes
        if waiting_on:
            detail["waiting_on"] = list(waiting_on)
        if started_by is not None:
            detail["started_by"] = started_by
        chain = HistoryChain(tx, record, self.keys)
        first = chain.event(
            "start", at=now, actor=actor, role=role, dest=state, data=stored, detail=detail
        )
        record = replace(record, seq=1, head=first.hash)
        tx.insert_instance(record)
        tx.append_event(first, chain.texts)
        if process.tasks:
            self.tasks.start_tasks(tx, cp, record, variables, actor=actor, now=now)
        if cp.automatic_from:
            outcome = Outcome(record, set())
            self._settle(tx, cp, outcome, 0)
            return outcome.record
        return record

    # firing ---------------------------------------------------------------------------------
    def load(self, tx: Transaction, instance_id: str) -> tuple[InstanceRecord, CompiledProcess]:
        """The instance and the definition it is pinned to.

        Raises:
            NotFound: no such instance.
        """
        record = tx.get_instance(instance_id)
        if record is None:
            raise NotFound(f"no instance '{instance_id}'; `fulfil queue` lists open work")
        return record, self.definitions.for_instance(tx, record.process, record.version)

    def _pinned(
        self,
        tx: Transaction,
        instance_id: str,
        record: InstanceRecord | None,
        cp: CompiledProcess | None,
    ) -> tuple[InstanceRecord, CompiledProcess]:
        """The instance and its definition: read unless the caller has them."""
        if record is None:
            return self.load(tx, instance_id)
        if cp is None:
            cp = self.definitions.for_instance(tx, record.process, record.version)
        return record, cp

    def check_trigger(self, cp: CompiledProcess, record: InstanceRecord, trigger: str) -> None:
        """Refuse a trigger a closed instance or its current state cannot take."""
        if record.state in cp.terminal:
            status, reason = cp.status(record.state)
            shown = f"{status} / {reason}" if reason else status
            raise InstanceClosed(
                f"instance '{record.id}' is closed ({shown}); nothing more can fire",
                instance=record.id,
                trigger=trigger,
            )
        if trigger in cp.triggers_from.get(record.state, ()):
            return
        allowed = cp.hand_triggers_from.get(record.state, ())
        now_text = ", ".join(allowed) if allowed else "none"
        if trigger in cp.process.triggers:
            message = f"'{trigger}' cannot fire in state '{record.state}'"
        else:
            hint = did_you_mean(trigger, cp.process.triggers)
            close = f" ({hint})" if hint.startswith("did you") else ""
            message = f"'{trigger}' is not a trigger of {cp.process.id}{close}"
        raise TriggerNotAllowed(
            f"{message}; allowed now: {now_text}", instance=record.id, trigger=trigger
        )

    def check_role(self, cp: CompiledProcess, role: str | None, record: InstanceRecord) -> None:
        """Refuse a role the process does not declare."""
        if role is None:
            return
        declared = [r.name for r in cp.process.roles]
        if not declared or role in declared:
            return
        hint = did_you_mean(role, declared)
        raise RoleRefused(
            f"role '{role}' is not a role of {cp.process.id}" + (f" ({hint})" if hint else ""),
            instance=record.id,
        )

    def fire(
        self,
        tx: Transaction,
        instance_id: str,
        trigger: str,
        data: Mapping[str, Any] | None,
        *,
        actor: str | None,
        role: str | None,
        now: datetime,
        kind: str = "transition",
        internal: bool = False,
        detail: Mapping[str, Any] | None = None,
        depth: int = 0,
        record: InstanceRecord | None = None,
        settle: bool = True,
        cp: CompiledProcess | None = None,
    ) -> Outcome:
        """Check and apply one trigger; raises an ExecutionError before writing if refused.

        A firing by hand (not `internal`) is checked for who fires it first: with a directory
        `actor` must be a person who may (`identify_fire`); the engine's own firings (timers,
        rules, emits) pass their actor (`timer`, `rule`) and skip that check.

        `record` is the instance when the caller already read it in this transaction (the
        step then applies to that revision, and a newer one committed since is a conflict),
        `cp` the definition it is pinned to when the caller has it too.
        """
        record, cp = self._pinned(tx, instance_id, record, cp)
        person = None
        if not internal and self.people is not None:
            # who it is before anything about the instance: a stranger learns nothing
            person = verify_person(
                self.people, actor, role, f"fire '{trigger}'", instance=record.id, trigger=trigger
            )
        self.check_trigger(cp, record, trigger)
        who = None
        if not internal:
            actor, role, who = self.identify_fire(cp, record, trigger, actor, role, person)
            self.check_released(tx, record, trigger)
            check_not_before(record, now)
        elif actor is None:
            actor = "system"
        elif now < record.updated_at:
            now = record.updated_at  # a reaction to another instance never predates this one
        given = cp.codec.check(data, instance=record.id)
        if not internal and given:
            accepts = trigger_accepts(cp.process, record.state, trigger)
            refuse_undeclared(given, accepts, f"'{trigger}'", instance=record.id, trigger=trigger)
        variables = cp.codec.decode(record.data)
        variables.update(given)
        variables.update(builtins(record.state, now, actor, role))
        step = Step(cp, record, variables, actor, role, now, internal)
        step.people = self.people
        step.parent = lambda: self._parent_values(tx, record)
        try:
            dest = cp.machine.fire(record.state, trigger, step)
        except LookupError as exc:
            raise TriggerNotAllowed(str(exc), instance=record.id, trigger=trigger) from None
        if dest is None:
            raise self._refusal(cp, step, trigger)
        if not internal and given and step.transition is not None:
            # the transition the guards chose must take all of it, not only some other one
            accepted = cp.process.accepts(step.transition.transition)
            refuse_undeclared(given, accepted, f"'{trigger}'", instance=record.id, trigger=trigger)
        outcome = self._commit(tx, step, dest, kind, dict(detail or {}), depth)
        if settle and cp.automatic_from:
            self._settle(tx, cp, outcome, depth)
        outcome.identity = who
        if record.parent is not None or cp.process.tasks or step.emits:
            # rules and emits may have changed this instance again after its own step
            outcome.record = tx.get_instance(record.id) or outcome.record
        return outcome

    def _settle(self, tx: Transaction, cp: CompiledProcess, outcome: Outcome, depth: int) -> None:
        """Take the automatic transitions whose guard holds after a step, each a step of its
        own in the same transaction, until none holds (at most MAX_AUTOMATIC).

        Raises:
            ExecutionError: they went on MAX_AUTOMATIC steps (a loop the guards did not end):
                the whole event is refused.
        """
        for _ in range(MAX_AUTOMATIC):
            record = tx.get_instance(outcome.record.id) or outcome.record
            if not self._automatic_holds(cp, record):
                outcome.record = record
                return
            result = self.fire(
                tx,
                record.id,
                AUTOMATIC,
                None,
                actor=AUTOMATIC,
                role=None,
                now=record.updated_at,
                internal=True,
                detail={"automatic": True},
                depth=depth,
                record=record,
                settle=False,
            )
            outcome.record = result.record
            outcome.sheets |= result.sheets
            outcome.messages += result.messages
        raise ExecutionError(
            f"automatic transitions of {cp.process.id} went on for {MAX_AUTOMATIC} steps "
            f"(now in '{outcome.record.state}'); their guards never stopped them: make a guard "
            "false after its step, e.g. with a `set` action",
            instance=outcome.record.id,
        )

    def _automatic_holds(self, cp: CompiledProcess, record: InstanceRecord) -> bool:
        """Whether an automatic transition from the instance's state may be taken now."""
        candidates = cp.automatic_from.get(record.state)
        if not candidates or record.state in cp.terminal:
            return False
        variables = cp.codec.decode(record.data)
        variables.update(builtins(record.state, record.updated_at, AUTOMATIC, None))
        step = Step(cp, record, variables, AUTOMATIC, None, record.updated_at, True)
        return any(ct.allows(step) for ct in candidates)

    def check_released(self, tx: Transaction, record: InstanceRecord, trigger: str) -> None:
        """Refuse people's triggers on a task still waiting on its dependencies."""
        if record.task is None:
            return
        waiting = TaskReader(tx, self.definitions).waiting_on(record)
        if waiting:
            raise TriggerNotAllowed(
                f"task '{record.task}' is waiting on: {', '.join(waiting)}",
                instance=record.id,
                trigger=trigger,
            )

    def _refusal(self, cp: CompiledProcess, step: Step, trigger: str) -> ExecutionError:
        return best_refusal(cp, step, trigger)

    def _parent_values(
        self, tx: Transaction, record: InstanceRecord
    ) -> tuple[CompiledProcess, dict[str, Any]] | None:
        if record.parent is None:
            return None
        parent, cp = self.load(tx, record.parent)
        return cp, cp.codec.decode(parent.data)

    # writing --------------------------------------------------------------------------------
    def _leave_and_enter(
        self, tx: Transaction, step: Step, dest: str, detail: dict[str, Any]
    ) -> tuple[str, ...]:
        """Cancel the timers and batches of the states left, arm those entered (noted); the
        states entered."""
        record, cp = step.record, step.cp
        exits: tuple[str, ...] = (record.state,)
        entries: tuple[str, ...] = (dest,)
        if step.transition is not None:
            exits, entries = cp.moves(step.transition.transition, record.state)
            if cp.process.compounds:  # the history says which compound states it left, entered
                detail["exited"], detail["entered"] = list(exits), list(entries)
        pending: dict[str, set[str]] | None = None
        for state in exits:
            if cp.timers.get(state):
                if state in entries:
                    pending = pending or {}
                    pending[state] = {t.name for t in tx.timers(record.id) if t.state == state}
                tx.cancel_timers(record.id, state)
            if state in cp.batches:
                tx.leave_batch(record.id, state)
        notes = []
        waiting = TaskReader(tx, self.definitions).waiting_on(record) if record.task else ()
        if waiting:
            detail["waiting_on"] = list(waiting)  # its timers start when it is released
        elif (cp.has_timers or cp.batches) and any(
            cp.timers.get(state) or state in cp.batches for state in entries
        ):
            notes = self.arming.enter(
                tx, cp, record.id, dest, step.vars, step.now, pending, entries
            )
        if notes:
            detail["timers"] = notes
        if "timer" in detail and not waiting:
            self.arming.rearm_recurring(tx, step, detail, exits)
        return entries

    def _commit(
        self, tx: Transaction, step: Step, dest: str, kind: str, detail: dict[str, Any], depth: int
    ) -> Outcome:
        record, cp, now = step.record, step.cp, step.now
        stored = cp.codec.encode(step.vars)
        change = {k: v for k, v in stored.items() if record.data.get(k) != v}
        entries: tuple[str, ...] = ()
        if step.transition is not None and step.transition.transition.internal:
            detail["internal"] = True  # it stays: its timers, SLA and batch run on
            self.arming.rearm_recurring(tx, step, detail)
        else:
            entries = self._leave_and_enter(tx, step, dest, detail)
        if cp.idle:
            self.arming.rearm_idle(tx, step, dest, entries, detail)
        trigger = step.transition.transition.trigger if step.transition else None
        for process_id, data in step.starts:
            started = self.start_other(
                tx, record.id, trigger, process_id, data, actor=step.actor, now=now
            )
            detail.setdefault("started", []).append(started.id)
        chain = HistoryChain(tx, record, self.keys)
        actor, role = step.actor, step.role
        chain.add(
            kind,
            at=now,
            actor=actor,
            role=role,
            trigger=trigger,
            source=record.state,
            dest=dest,
            data=change,
            detail=detail,
        )
        for activity in step.activities:
            chain.add("activity", at=now, actor=actor, role=role, trigger=trigger, detail=activity)
        for message in step.messages:
            queued = tx.add_outbox(
                outbox_entry(
                    record.id,
                    message.channel,
                    message.to,
                    message.cc,
                    message.subject,
                    message.body,
                    now,
                    message.unresolved,
                )
            )
            note = {
                "outbox": queued.id,
                "channel": message.channel,
                "to": list(message.to),
                "cc": list(message.cc),
                "subject": message.subject,
            }
            if message.unresolved:
                note["unresolved"] = list(message.unresolved)
            chain.add("notification", at=now, actor=actor, role=role, trigger=trigger, detail=note)
        if cp.has_jobs and dest in cp.terminal and dest != record.state:
            tx.cancel_jobs(record.id)  # nobody completes work for a closed instance
        for request in step.jobs:
            # the key names the job's own history event: stable, unique, known to the worker
            key = f"{record.id}/{chain.seq + 1}"
            job = tx.add_job(
                JobRecord(
                    request.type,
                    record.id,
                    request.trigger,
                    request.payload,
                    key,
                    now,
                    now,
                    request.retries,
                    request.result,
                )
            )
            created: dict[str, Any] = {
                "job": job.id,
                "type": request.type,
                "key": key,
                "payload": request.payload,
                "on_complete": request.trigger,
            }
            chain.add("job", at=now, actor=actor, role=role, trigger=trigger, detail=created)
        for sheet, values in step.rows:
            tx.add_sheet_row(SheetRow(sheet, record.id, now, values))
        activity_at = record.last_activity_at if kind == "timer" else now
        new = chain.save(
            record, state=dest, data=stored, updated_at=now, last_activity_at=activity_at
        )
        sheets = {sheet for sheet, _ in step.rows} if step.rows else set()
        outcome = Outcome(new, sheets, len(step.messages))
        self._reach_out(tx, step, new, outcome, depth)
        return outcome

    def start_other(
        self,
        tx: Transaction,
        starter: str,
        trigger: str | None,
        process_id: str,
        data: dict[str, Any],
        *,
        actor: str,
        now: datetime,
    ) -> InstanceRecord:
        """A `start` (an action, or a fulfilment list's task): the other process's instance,
        in the step's transaction (a refusal of its data refuses the whole step)."""
        # named after the instance that starts it, as a request's tasks are
        instance_id, n = f"{starter}.{process_id}", 1
        while tx.get_instance(instance_id) is not None:
            n += 1
            instance_id = f"{starter}.{process_id}-{n}"
        try:
            return self.start(
                tx,
                process_id,
                data,
                instance_id=instance_id,
                actor=actor,
                role=None,
                now=now,
                started_by=starter,
            )
        except ExecutionError as exc:
            kind = DataError if isinstance(exc, DataError) else ExecutionError
            raise kind(
                f"'{trigger}' starts {process_id}, which refused it: {exc}",
                instance=starter,
                trigger=trigger,
            ) from None

    def _reach_out(
        self, tx: Transaction, step: Step, new: InstanceRecord, outcome: Outcome, depth: int
    ) -> None:
        """What a committed step does to other instances: the request's log, emits, rules."""
        if step.parent_lines:
            self._append_to_parent(tx, step, step.record)
        for emit in step.emits:
            self._emit(tx, step, emit.trigger, emit.target, outcome, depth)
        if new.parent is not None and new.state in step.cp.terminal:
            self.tasks.task_ended(tx, new, step.cp, step.now, outcome, depth)

    def _append_to_parent(self, tx: Transaction, step: Step, child: InstanceRecord) -> None:
        if child.parent is None:
            return  # a task started on its own: there is no request to write to
        parent, parent_cp = self.load(tx, child.parent)
        data = dict(parent.data)
        for name, text in step.parent_lines:
            declared = parent_cp.process.find_field(name)
            if declared is None or declared.type is not FieldType.TEXT:
                # The loader refuses this within one folder; a task started by hand under
                # another request can still meet a parent without the field.
                raise ExecutionError(
                    f"'{child.id}' appends to '{name}' of its request '{parent.id}', which "
                    f"{parent_cp.process.id} does not declare as a text field",
                    instance=child.id,
                )
            data[name] = dated_line(data.get(name), step, text)
        change = {k: v for k, v in data.items() if parent.data.get(k) != v}
        chain = HistoryChain(tx, parent, self.keys)
        chain.add(
            "update",
            at=step.now,
            actor=step.actor,
            role=step.role,
            data=change,
            detail={"by": child.id},
        )
        chain.save(parent, data=data, updated_at=step.now)

    def _emit(
        self, tx: Transaction, step: Step, trigger: str, target: str, outcome: Outcome, depth: int
    ) -> None:
        if depth >= MAX_EMIT_DEPTH:
            raise ExecutionError(
                f"emitting '{trigger}' went {MAX_EMIT_DEPTH} levels deep; the process emits in "
                "a loop",
                instance=step.record.id,
                trigger=trigger,
            )
        record = step.record
        if target == "parent":
            targets = [record.parent] if record.parent else []
        else:
            kids = tx.children(record.id)
            targets = [k.id for k in kids if target in ("children", k.task)]
        for target_id in targets:
            if target == "children":
                child, cp = self.load(tx, target_id)
                if trigger not in cp.triggers_from.get(child.state, ()):
                    continue  # a broadcast reaches only the children that can take it
            result = self.fire(
                tx,
                target_id,
                trigger,
                None,
                actor=step.actor,
                role=None,
                now=step.now,
                internal=True,
                detail={"emitted_by": record.id},
                depth=depth + 1,
            )
            outcome.sheets |= result.sheets
            outcome.messages += result.messages
