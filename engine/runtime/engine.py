"""The engine: start instances, fire triggers, fire due timers, and read what happened.

Each call is one store transaction (a role refusal adds a second one that only records the
refused attempt). The engine holds compiled definitions, never instances: every call loads the
instance it needs and stores it back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple

from ..audit.keys import UNKEYED, AuditKeys
from ..clock.clocks import Clock
from ..errors import (
    ConflictError,
    FulfilError,
    JobRefused,
    NotFound,
    RoleRefused,
    StoreError,
    UsageError,
)
from ..model import Process
from ..people.directory import Directory
from ..store.base import (
    JOB_STATES,
    EventRecord,
    InstanceRecord,
    LaneMark,
    MarkRecord,
    OutboxRecord,
    Store,
    Transaction,
)
from .compiled import CompiledProcess
from .definitions import CatalogLike, Definitions
from .embedding import IDEMPOTENCY_KEY, StepContext, StepHook, check_rev, cursor_of, keyed_step_done
from .executor import Executor, Outcome
from .history import HistoryChain
from .jobs import (
    DEFAULT_LEASE,
    JobView,
    failed_job,
    held_job,
    job_view,
    record_incident,
    result_data,
)
from .metrics import LatencyHistogram
from .ticking import MAX_TIMERS_PER_TICK as MAX_TIMERS_PER_TICK
from .ticking import TICK_BATCH, Ticker, family_due_timer
from .timers import TimerScheduler, schedule_timer
from .views import Fired, InstanceView, QueueView, TimerView, VerifyProblem, VerifyReport

# What one command of the CLI never needs is imported by the calls that need it: interventions
# and migrations, search and queues, listeners, verify, sheets, delivery, assignment, and the
# reads of tasks and SLAs for an instance that has none (a `show` imports none of them).
if TYPE_CHECKING:
    from ..messages.adapters import DeliveryAdapter
    from .interventions import BulkItem, BulkReport
    from .listening import EventPage, Listener, Subscription
    from .migration import MigrationItem
    from .search import SearchPage, SearchRequest

__all__ = ["Engine"]

# the delivery limits, kept importable from here as they were
_DELIVERY_LIMITS = ("MAX_DELIVERIES", "MAX_DELIVERY_ATTEMPTS", "SEND_LEASE")


def __getattr__(name: str) -> object:
    if name in _DELIVERY_LIMITS:
        from ..messages import delivering

        return getattr(delivering, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _TimersDue(Exception):
    """Timers the worker has not fired yet are due before a person's event (see `fire`)."""


class _DryRun(Exception):
    """Rolls a dry run's transaction back, carrying the view it would have returned."""

    def __init__(self, view: InstanceView) -> None:
        self.view = view


class _Stale(Exception):
    """The instance is not at the revision the caller expected (raised outside the retries)."""

    def __init__(self, error: ConflictError) -> None:
        self.error = error


class _StateFacts(NamedTuple):
    """What a view shows of a state that depends on the definition alone."""

    status: str
    reason: str
    terminal: bool
    triggers: tuple[str, ...]
    has_sla: bool
    owner: str | None


@lru_cache(maxsize=1024)
def _state_facts(cp: CompiledProcess, state: str) -> _StateFacts:
    status, reason = cp.status(state)
    spec = cp.process.find_state(state)
    sla = spec.sla if spec is not None else None
    return _StateFacts(
        status,
        reason,
        state in cp.terminal,
        cp.hand_triggers_from.get(state, ()),
        sla is not None,
        sla.owner if sla is not None else spec.owner if spec is not None else None,
    )


def _problem_order(problem: VerifyProblem) -> tuple[str, int]:
    """The store's problems first, then by instance and first bad event (the instance last)."""
    return (problem.instance, problem.seq if problem.seq is not None else 1 << 62)


class Engine:
    """Runs process instances durably against a store.

    Args:
        catalog: where process definitions come from (`engine.definition.loader.Catalog`).
        store: the database (`engine.store.open_store(url)`).
        clock: the time source; engine code never reads the system clock itself.
        sheets_dir: the folder `sheet` actions write CSV files to.
        delivery: the adapter `deliver()` sends through when it is given none.
        deliver_inline: send the outbox through `delivery` right after each call that queued
            a message, inside that call (the CLI's one-shot commands); off by default, so a
            caller's `fire` never waits on a mail server: a `Worker` delivers.
        step_hooks: called inside the transaction of every `start` and `fire`, after the step
            is written and before it commits (`embedding.StepContext`); a hook that raises
            rolls the whole step back.
        scheduler: computes timer due times (default: `engine.runtime.timers.schedule_timer`).
        retries: how often a call is retried when another writer changed the instance first.
        audit_keys: the keys that seal history events (default: none, the unkeyed SHA-256
            chain, which detects accidents but not a forger; see docs/audit.md).
        people: who may act (`engine.people`); with it every start and fire names a person of
            the directory in a role they hold. None: open mode, identities are not verified.
        tick_batch: how many due timers of different instances `tick` fires in one
            transaction, one commit for all (default `TICK_BATCH`, 20; 1: one per timer).
    """

    def __init__(
        self,
        catalog: CatalogLike,
        *,
        store: Store,
        clock: Clock,
        sheets_dir: Path = Path("sheets"),
        delivery: DeliveryAdapter | None = None,
        deliver_inline: bool = False,
        scheduler: TimerScheduler = schedule_timer,
        retries: int = 3,
        audit_keys: AuditKeys = UNKEYED,
        people: Directory | None = None,
        step_hooks: Iterable[StepHook] = (),
        tick_batch: int = TICK_BATCH,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.clock = clock
        self.sheets_dir = Path(sheets_dir)
        self.delivery = delivery
        self.deliver_inline = deliver_inline
        self.step_hooks = tuple(step_hooks)
        self.retries = retries
        if tick_batch < 1:
            raise UsageError(f"tick_batch is a number of timers, at least 1, not {tick_batch}")
        self.tick_batch = tick_batch
        self.people = people
        self.definitions = Definitions(catalog)
        self.audit_keys = audit_keys
        self.executor = Executor(self.definitions, scheduler, audit_keys, people)
        self.subscriptions: tuple[Subscription, ...] = ()
        self.fire_latency = LatencyHistogram()  # Engine.fire calls of this process (metrics)

    # writing --------------------------------------------------------------------------------
    def start(
        self,
        process_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        actor: str | None = None,
        role: str | None = None,
        parent: str | None = None,
        task: str | None = None,
    ) -> InstanceView:
        """Start an instance of the process's latest version as `actor` in `role`.

        With a directory, `actor` is a person id; without `role` the engine picks the first of
        the person's roles the process declares (the initial state's owner first) and the
        returned view's `acted_as` says which.

        Raises:
            NotFound: no such process.
            IdentityRefused, RoleRefused: the person or role may not start it (nothing stored).
            DataError: `data` does not fit the fields, or a required field is missing.
            AlreadyExists: an instance with that id exists.
            Whatever a step hook raises (nothing is stored).
        """
        with self.store.transaction() as tx:
            now = self.clock.now()  # read inside: dated after every step committed before
            actor, role, who = self.executor.identify_start(tx, process_id, actor, role)
            record = self.executor.start(
                tx,
                process_id,
                data,
                instance_id=id,
                actor=actor,
                role=role,
                now=now,
                parent=parent,
                task=task,
            )
            view = self._view(tx, record, (actor, role) if who is not None else None)
            self._hooks(tx, "start", view, None, actor or "system")
        self._after(Outcome(record, set(), 0))
        return view

    def fire(
        self,
        instance_id: str,
        trigger: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
        role: str | None = None,
        expected_rev: int | None = None,
        idempotency_key: str | None = None,
    ) -> InstanceView:
        """Fire a trigger on an instance as `actor` in `role`.

        `expected_rev`: the revision the caller saw (`InstanceView.rev`); the fire is refused
        with a ConflictError when the instance moved since. `idempotency_key`: when a step of
        this instance was stored with the same key, nothing fires and the instance is returned
        as it is now (so a repeated request steps once, after a restart too).

        First every timer due by now that can change the instance fires, in due order and each
        at its due time, as `tick` would have fired it (see `Ticker.catch_up`); then the
        trigger is checked against the state they left. So the history is the same however
        late the worker ticks.

        With a directory, `actor` is a person id; without `role` the engine picks the first of
        the person's roles that may fire the trigger now, and the view's `acted_as` says which.
        A trigger only the engine fires (a timer's, a rule's) is refused to everyone.

        Raises:
            NotFound, InstanceClosed, TriggerNotAllowed, DataError, RequirementMissing,
            GuardRefused: the call was refused, nothing stored.
            RoleRefused, IdentityRefused: the person or role may not fire it; the refusal is
                recorded in history (a `refused` event with the person and role given).
            ConflictError: other writers kept changing the instance through every retry, or
                it is not at `expected_rev` (details: instance, expected, actual).
            Whatever a step hook raises (nothing is stored).
        """
        began = perf_counter()
        attempt, behind = 0, True
        detail = None if idempotency_key is None else {IDEMPOTENCY_KEY: idempotency_key}
        while True:
            now = None
            try:
                with self.store.transaction() as tx:
                    # the clock is read once the instance is taken, so a step is dated after
                    # every step committed before it: concurrent fires serialise, and one
                    # that lost the race is a conflict (retried), never a step back in time
                    record, cp = self.executor.load(tx, instance_id)
                    now = self.clock.now()
                    if idempotency_key is not None and keyed_step_done(
                        tx, instance_id, idempotency_key
                    ):
                        return self._view(tx, record)
                    stale = check_rev(record, expected_rev)
                    if stale is not None:
                        raise _Stale(stale)
                    if behind and family_due_timer(tx, self.definitions, record, now, cp):
                        raise _TimersDue
                    outcome = self.executor.fire(
                        tx,
                        instance_id,
                        trigger,
                        data,
                        actor=actor,
                        role=role,
                        now=now,
                        record=record,
                        detail=detail,
                        cp=cp,
                    )
                    verified = outcome.identity
                    acted = None if verified is None else (verified.person.id, verified.role)
                    view = self._view(tx, outcome.record, acted, cp)
                    self._hooks(tx, "fire", view, trigger, acted[0] if acted else actor or "system")
                break
            except _Stale as stale:
                raise stale.error from None
            except _TimersDue:
                # rolled back before writing: fire what the worker has not yet fired, then
                # apply the event to the state those timers left
                # (when another worker claimed them all first, go on rather than wait for it)
                assert now is not None
                behind = bool(self._ticker().catch_up(instance_id, now))
            except ConflictError:
                attempt += 1
                if attempt > self.retries:
                    raise
            except RoleRefused as refused:
                who = actor or "anonymous"
                self._record_refusal(instance_id, trigger, who, role, str(refused))
                raise
        self.fire_latency.observe(perf_counter() - began)
        self._after(outcome)
        return view

    # external work ----------------------------------------------------------------------------
    def fetch_jobs(
        self,
        type: str,
        *,
        worker: str,
        lease_seconds: float | None = None,
        max: int = 1,
    ) -> list[JobView]:
        """Lock up to `max` jobs of `type` for `worker`, oldest first (engine.runtime.jobs).

        Each is held until its lease ends (`lease_seconds`, default 5 minutes); a job whose
        lease ended without a completion or failure is fetched again (its `attempt` counts
        on). Workers fetching at once never get the same job.

        Raises:
            UsageError: `max` below 1, a lease not above 0, or no worker name.
        """
        if max < 1:
            raise UsageError(f"max must be 1 or more, not {max}")
        if not worker.strip():
            raise UsageError("name the worker fetching jobs (worker=...)")
        lease = DEFAULT_LEASE if lease_seconds is None else timedelta(seconds=lease_seconds)
        if lease <= timedelta(0):
            raise UsageError(f"lease_seconds must be above 0, not {lease_seconds}")
        with self.store.transaction() as tx:
            now = self.clock.now()
            return [job_view(j) for j in tx.fetch_jobs(type, worker, now, now + lease, max)]

    def complete_job(
        self,
        job_id: int,
        data: Mapping[str, Any] | None = None,
        *,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> InstanceView:
        """Complete a fetched job: `data` fires its completion trigger on its instance, and
        the job is marked completed, in one transaction.

        `worker` and `attempt` (from the fetch) make sure the caller still holds the job: a
        completion whose lease ended and whose job was fetched again is refused. Due timers
        of the instance's family fire first, as for `fire`.

        Raises:
            NotFound: no such job.
            JobRefused: completed already (exactly one completion counts), cancelled, not
                fetched, or fetched again by another worker (details: job, state, reason).
            DataError: `data` sets fields the completion does not take.
            ExecutionError: the process refuses the trigger now (the job stays locked: fail
                it, or complete it again once the instance can take it).
        """
        attempts, behind = 0, True
        while True:
            now = None
            try:
                with self.store.transaction() as tx:
                    job = held_job(tx, job_id, worker, attempt)
                    record, cp = self.executor.load(tx, job.instance)
                    now = self.clock.now()
                    if behind and family_due_timer(tx, self.definitions, record, now, cp):
                        raise _TimersDue
                    result_data(cp, record.state, job, data)
                    outcome = self.executor.fire(
                        tx,
                        job.instance,
                        job.trigger,
                        data,
                        actor=job.worker or "job",
                        role=None,
                        now=now,
                        internal=True,
                        detail={"job": job.id, "key": job.key},
                        record=record,
                    )
                    tx.update_job(
                        replace(job, state="completed", completed_at=now, lease_until=None)
                    )
                    view = self._view(tx, outcome.record)
                    self._hooks(tx, "fire", view, job.trigger, job.worker or "job")
                break
            except _TimersDue:
                assert now is not None
                behind = bool(self._ticker().catch_up(job.instance, now))
            except ConflictError:
                attempts += 1
                if attempts > self.retries:
                    raise
        self._after(outcome)
        return view

    def fail_job(
        self,
        job_id: int,
        message: str,
        *,
        retry_in: float | None = None,
        worker: str | None = None,
        attempt: int | None = None,
    ) -> JobView:
        """Report a fetched job failed: it is fetched again after `retry_in` seconds (default:
        backoff 1m, 2m, 4m ... 1h) while it has retries left, else it becomes an incident,
        written in its instance's history (`kind: incident`).

        Raises:
            NotFound, JobRefused: as `complete_job`.
            UsageError: an empty message or a negative `retry_in`.
        """
        if not message.strip():
            raise UsageError("say why the job failed (message)")
        if retry_in is not None and retry_in < 0:
            raise UsageError(f"retry_in must be 0 or more seconds, not {retry_in}")
        for tries in range(self.retries + 1):
            try:
                with self.store.transaction() as tx:
                    job = held_job(tx, job_id, worker, attempt)
                    now = self.clock.now()
                    failed = failed_job(job, message.strip(), retry_in, now)
                    tx.update_job(failed)
                    if failed.state == "incident":
                        record_incident(tx, failed, now, self.executor.keys)
                if self.subscriptions and failed.state == "incident":
                    self._dispatch_quietly()
                return job_view(failed)
            except ConflictError:
                if tries == self.retries:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def retry_job(self, job_id: int) -> JobView:
        """Give an incident (or a failed job waiting for its retry) back to workers now, with
        its retries afresh.

        Raises:
            NotFound: no such job.
            JobRefused: the job is not an incident or failed.
        """
        with self.store.transaction() as tx:
            job = tx.get_job(job_id)
            if job is None:
                raise NotFound(
                    f"no job {job_id}; `fulfil jobs` lists them", details={"job": job_id}
                )
            if job.state not in ("incident", "failed"):
                raise JobRefused(
                    f"job {job_id} is {job.state}: only an incident or a failed job is retried",
                    details={"job": job_id, "state": job.state, "reason": "not_failed"},
                )
            again = replace(job, state="open", failures=0, due_at=self.clock.now())
            tx.update_job(again)
            return job_view(again)

    def jobs(
        self, *, type: str | None = None, state: str | None = None, instance: str | None = None
    ) -> list[JobView]:
        """Jobs, oldest first, optionally of one type, state (`JOB_STATES`) or instance."""
        if state is not None and state not in JOB_STATES:
            raise UsageError(f"no job state '{state}'; the states: {', '.join(JOB_STATES)}")
        with self.store.transaction(write=False) as tx:
            return [job_view(j) for j in tx.jobs(instance=instance, type=type, state=state)]

    def job_counts(self) -> dict[str, int]:
        """How many jobs are in each state (every state of `JOB_STATES`, zeros included)."""
        with self.store.transaction(write=False) as tx:
            counts = tx.job_counts()
        return {state: counts.get(state, 0) for state in JOB_STATES}

    def _hooks(
        self, tx: Transaction, call: str, view: InstanceView, trigger: str | None, actor: str
    ) -> None:
        if self.step_hooks:
            context = StepContext(call, view, trigger, actor, cursor_of(tx))
            for hook in self.step_hooks:
                hook(context)

    def claim(self, instance_id: str, *, actor: str, role: str | None = None) -> InstanceView:
        """Take unassigned work: `actor` becomes the assignee (engine.runtime.assigning).

        Raises:
            NotFound, InstanceClosed: no such instance, or it is closed.
            RoleRefused: the person may not work it (recorded in history).
            AlreadyAssigned: someone else holds it, or claimed it first in a race.
        """
        return self._assignment("claim", instance_id, actor, role)

    def assign(
        self, instance_id: str, person: str, *, actor: str, role: str | None = None
    ) -> InstanceView:
        """Give the work to `person` (a lead's act; anyone may assign it to themselves).

        Raises:
            NotFound, InstanceClosed: no such instance, or it is closed.
            RoleRefused: `actor` may not assign, or `person` may not work it (recorded).
            AlreadyAssigned: another change of the assignee won a race with this one.
        """
        return self._assignment("assign", instance_id, actor, role, person)

    def release(self, instance_id: str, *, actor: str, role: str | None = None) -> InstanceView:
        """Give the work back to its queue (the assignee, or a lead).

        Raises:
            NotFound, InstanceClosed: no such instance, or it is closed.
            UsageError: nobody holds it.
            RoleRefused: `actor` is neither the assignee nor a lead (recorded in history).
            AlreadyAssigned: another change of the assignee won a race with this one.
        """
        return self._assignment("release", instance_id, actor, role)

    def _assignment(
        self, action: str, instance_id: str, actor: str, role: str | None, person: str | None = None
    ) -> InstanceView:
        from .assigning import AlreadyAssigned, Assignment

        assignment = Assignment(self.executor, self.people)
        seen: tuple[str | None] | None = None
        for attempt in range(self.retries + 1):
            try:
                with self.store.transaction() as tx:
                    if seen is None:  # a retry checks that nobody changed the assignee since
                        found = tx.get_instance(instance_id)
                        seen = (None if found is None else found.assignee,)
                    now = self.clock.now()  # read once the instance is held, as a fire does
                    record = assignment.run(
                        tx,
                        action,
                        instance_id,
                        actor=actor,
                        role=role,
                        now=now,
                        person=person,
                        seen=seen if attempt else None,
                    )
                    return self._view(tx, record)
            except AlreadyAssigned:
                raise
            except ConflictError:
                if attempt == self.retries:
                    raise
            except RoleRefused as refused:
                self._record_refusal(instance_id, action, actor, role, str(refused))
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    # interventions (engine.runtime.interventions) -----------------------------------------
    def cancel(
        self, instance_id: str, *, reason: str, actor: str | None = None, role: str | None = None
    ) -> InstanceView:
        """Cancel running work: the engine's terminal state `Cancelled`, timers, batch and
        pending messages dropped; one audited `intervention` event.

        Raises:
            UsageError: no reason. NotFound: no such instance.
            InstanceClosed: it is closed already.
            RoleRefused: `actor` holds neither `operator` nor a manager role of the process
                (recorded in history).
        """
        return self._intervene("cancel", instance_id, actor, role, reason)

    def set_fields(
        self,
        instance_id: str,
        data: Mapping[str, Any],
        *,
        reason: str,
        actor: str | None = None,
        role: str | None = None,
    ) -> InstanceView:
        """Correct field values (checked like a fire's data); no trigger fires, no action runs.

        Values equal to the stored ones are not recorded; nothing to change records nothing.

        Raises:
            UsageError: no reason or no data. DataError: the values do not fit the fields.
            NotFound, RoleRefused: as `cancel`.
        """
        return self._intervene("set", instance_id, actor, role, reason, data=data)

    def move(
        self,
        instance_id: str,
        state: str,
        *,
        reason: str,
        actor: str | None = None,
        role: str | None = None,
    ) -> InstanceView:
        """Put the instance in another state of its version: the old state's timers are
        cancelled, the new state's armed as on entry; no action runs.

        Raises:
            UsageError: no reason, a state the version lacks, the state it is in already.
            NotFound, RoleRefused: as `cancel`.
        """
        return self._intervene("move", instance_id, actor, role, reason, state=state)

    def retry_message(
        self, message_id: int, *, reason: str, actor: str | None = None, role: str | None = None
    ) -> OutboxRecord:
        """Queue a failed outbox message again (its attempts start over); audited on its
        instance. Raises NotFound, UsageError (not failed, no reason), RoleRefused."""
        return self._message("retry", message_id, actor, role, reason)

    def drop_message(
        self, message_id: int, *, reason: str, actor: str | None = None, role: str | None = None
    ) -> OutboxRecord:
        """Give up on a failed or pending outbox message (status `dropped`); audited on its
        instance. Raises NotFound, UsageError (sent already, no reason), RoleRefused."""
        return self._message("drop", message_id, actor, role, reason)

    def _intervene(
        self,
        action: str,
        instance_id: str,
        actor: str | None,
        role: str | None,
        reason: str | None,
        *,
        data: Mapping[str, Any] | None = None,
        state: str | None = None,
        dry_run: bool = False,
    ) -> InstanceView:
        from .interventions import Interventions, check_reason

        text = check_reason(reason, action)
        for attempt in range(self.retries + 1):
            interventions = Interventions(self.executor, self.people)
            try:
                with self.store.transaction() as tx:
                    self.executor.load(tx, instance_id)
                    now = self.clock.now()  # read once the instance is held, as a fire does
                    stored, _ = interventions.run(
                        tx,
                        action,
                        instance_id,
                        actor=actor,
                        role=role,
                        reason=text,
                        now=now,
                        data=data,
                        state=state,
                    )
                    view = self._view(tx, stored)
                    if dry_run:
                        raise _DryRun(view)
                if interventions.outcomes:  # a cancelled task's request rules queued work
                    self._after(*interventions.outcomes)
                return view
            except _DryRun as done:
                return done.view
            except ConflictError:
                if attempt == self.retries:
                    raise
            except RoleRefused as refused:
                if not dry_run:
                    self._record_refusal(
                        instance_id, action, actor or "anonymous", role, str(refused)
                    )
                raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _message(
        self, action: str, message_id: int, actor: str | None, role: str | None, reason: str
    ) -> OutboxRecord:
        from .interventions import Interventions, check_reason

        text = check_reason(reason, f"{action} of a message")
        interventions = Interventions(self.executor, self.people)
        try:
            with self.store.transaction() as tx:
                return interventions.message(
                    tx,
                    action,
                    message_id,
                    actor=actor,
                    role=role,
                    reason=text,
                    now=self.clock.now(),
                )
        except RoleRefused as refused:
            instance = refused.details.get("instance")
            if instance:
                self._record_refusal(instance, action, actor or "anonymous", role, str(refused))
            raise

    def intervene_many(
        self,
        action: str,
        request: SearchRequest,
        *,
        reason: str,
        actor: str | None = None,
        role: str | None = None,
        data: Mapping[str, Any] | None = None,
        state: str | None = None,
        dry_run: bool = False,
        progress: Callable[[BulkItem], None] | None = None,
    ) -> BulkReport:
        """`cancel`, `set` or `move` every instance a search finds, each in its own
        transaction (an interruption leaves each one either changed and audited or untouched).

        The matching ids are gathered first (every page), then changed one by one; a refused
        one is reported and the others go on. `dry_run`: each change is made and rolled back,
        so the report says exactly what would change (and what would be refused), and nothing
        is stored, not even refusals. `progress` is called after each instance.

        Raises:
            UsageError: no reason, a bad action or search.
        """
        from .interventions import INSTANCE_ACTIONS, BulkItem, BulkReport, change_of, check_reason
        from .search import MAX_LIMIT

        check_reason(reason, action)
        if action not in INSTANCE_ACTIONS:
            raise UsageError(
                f"unknown intervention '{action}'; one of {', '.join(INSTANCE_ACTIONS)}"
            )
        ids: list[str] = []
        page_request = replace(request, limit=MAX_LIMIT, cursor=None)
        while True:
            page = self.search(page_request)
            ids += [item.id for item in page.items]
            if page.next is None:
                break
            page_request = replace(page_request, cursor=page.next)
        items: list[BulkItem] = []
        for instance_id in ids:
            try:
                before = self.show(instance_id)
                after = self._intervene(
                    action,
                    instance_id,
                    actor,
                    role,
                    reason,
                    data=data,
                    state=state,
                    dry_run=dry_run,
                )
                item = BulkItem(instance_id, True, "", change_of(before, after))
            except FulfilError as exc:
                item = BulkItem(instance_id, False, str(exc), {})
            items.append(item)
            if progress is not None:
                progress(item)
        return BulkReport(action, dry_run, tuple(items))

    def migrate(
        self,
        process_id: str,
        to_version: int,
        *,
        mapping: Mapping[str, str] | None = None,
        dry_run: bool = False,
        actor: str | None = None,
        role: str | None = None,
        reason: str | None = None,
    ) -> list[MigrationItem]:
        """Move the open instances of a process on other versions to `to_version`.

        Each instance is planned (engine.runtime.migration: its state exists or is mapped by
        `mapping`, its data fits the new fields, its pending timers still exist) and, unless
        `dry_run`, moved in its own transaction with a `migration` history event; the others
        stay on their version, their item saying why.

        Raises:
            NotFound: no such process or version.
            UsageError: a mapping naming a state no version involved has.
            RoleRefused: with a directory, `actor` holds neither `operator` nor a manager role.
        """
        from .interventions import Interventions
        from .migration import MigrationItem, check_map, migrate_instance
        from .search import MAX_LIMIT, SearchRequest

        target = self.catalog.get(process_id, to_version)
        new = self.definitions.compile(target)
        who = Interventions(self.executor, self.people).authorise(new, process_id, actor, role)
        text = (reason or "").strip() or f"migrated to version {to_version}"
        ids: list[str] = []
        request = SearchRequest(process=process_id, sort="id", limit=MAX_LIMIT)
        while True:
            page = self.search(request)
            ids += [i.id for i in page.items if i.version != to_version and not i.terminal]
            if page.next is None:
                break
            request = replace(request, cursor=page.next)
        with self.store.transaction(write=False) as tx:
            versions = sorted({tx_version(tx, i) for i in ids})
            sources = [self.definitions.for_instance(tx, process_id, v).process for v in versions]
        checked = check_map(mapping or {}, sources, target)
        items = []
        for instance_id in ids:
            for attempt in range(self.retries + 1):
                try:
                    with self.store.transaction(write=not dry_run) as tx:
                        item = migrate_instance(
                            tx,
                            self.executor,
                            self.definitions,
                            instance_id,
                            new,
                            checked,
                            actor=who.actor,
                            role=who.role,
                            reason=text,
                            now=self.clock.now(),
                            dry_run=dry_run,
                        )
                    break
                except ConflictError:
                    if attempt == self.retries:
                        raise
                except FulfilError as exc:
                    item = MigrationItem(instance_id, False, str(exc), {})
                    break
            items.append(item)
        return items

    def _record_refusal(
        self,
        instance_id: str,
        trigger: str,
        actor: str,
        role: str | None,
        message: str,
    ) -> None:
        """Audit a refused attempt: one `refused` event, nothing else about the instance."""
        with self.store.transaction() as tx:
            record = tx.get_instance(instance_id)
            if record is None:
                return
            now = max(self.clock.now(), record.updated_at)
            chain = HistoryChain(tx, record, self.executor.keys)
            chain.add(
                "refused",
                at=now,
                actor=actor,
                role=role,
                trigger=trigger,
                source=record.state,
                detail={"error": message},
            )
            chain.save(record)

    def tick(
        self, now: datetime | None = None, *, stop: Callable[[], bool] | None = None
    ) -> list[Fired]:
        """Fire every timer due at `now` (default: the clock), earliest first.

        Each firing runs at the timer's due time, so a tick far in the future fires a chain of
        timers in order, each at its time. Up to `tick_batch` firings of different instances
        share one transaction (one commit) with their claims, each all or nothing on its own
        (a savepoint): a firing the process refuses is recorded as a `refused` event and not
        retried; one that lost a race with another writer, or failed, is undone alone and
        tried again in a transaction of its own, retried like `fire`. `stop` is asked between
        firings (the worker's graceful stop): a firing is never cut short.

        Raises:
            ConflictError: other writers kept changing a timer's instance through every retry
                (the timers fired before it stay fired; the next tick picks up the rest).
        """
        return self._ticker().tick(now or self.clock.now(), stop)

    def _ticker(self) -> Ticker:
        hook = self._engine_step if self.step_hooks else None
        return Ticker(
            self.store,
            self.executor,
            self.definitions,
            self.retries,
            self._after,
            hook,
            self.tick_batch,
        )

    def _engine_step(
        self, tx: Transaction, call: str, instance_id: str, trigger: str | None, actor: str
    ) -> None:
        """The step hooks of a step the engine took itself (a timer, an SLA notice, a batch)."""
        record = tx.get_instance(instance_id)
        if record is not None:
            self._hooks(tx, call, self._view(tx, record), trigger, actor)

    def deliver(
        self, adapter: DeliveryAdapter | None = None, *, stop: Callable[[], bool] | None = None
    ) -> list[OutboxRecord]:
        """Send the outbox messages due now through `adapter` (default: the engine's).

        Each message is leased in its own transaction (so two workers never send it both),
        sent, and its outcome stored in another transaction right after the server answered:
        `sent`; `pending` again with `next_attempt_at` set by `backoff` when the failure may be
        temporary; `failed` with the error when it is permanent or after
        `MAX_DELIVERY_ATTEMPTS`. A message is never sent again once marked sent. The one
        window left is a crash after the server accepted and before the mark: the lease ends
        and it is sent again with the same Message-ID (derived from the outbox id), which lets
        the receiver drop the duplicate. `stop` is asked before each message.
        """
        adapter = adapter or self.delivery
        if adapter is None:
            raise UsageError("no delivery adapter configured")
        from ..messages.delivering import Deliverer

        return Deliverer(self.store, self.clock, adapter).deliver(stop)

    # listening ------------------------------------------------------------------------------
    def events_since(self, cursor: str | None = None, *, limit: int = 500) -> EventPage:
        """The history events committed after `cursor` (None: from the beginning), with the
        cursor to read from next (engine.runtime.listening; up to `limit` per lane).

        Raises:
            UsageError: `cursor` is not a cursor this call returned.
        """
        from .listening import events_since

        return events_since(self.store, cursor, limit)

    def subscribe(
        self,
        handler: Listener,
        *,
        name: str | None = None,
        process: str | Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        from_start: bool = False,
    ) -> Subscription:
        """Call `handler(CommittedEvent)` for every committed event of `process` (one or
        several; None: all) whose kind is in `kinds` (None: all), at least once, in the
        engine's process after each step it commits and at each `dispatch()` (a `Worker`
        round dispatches, so steps other processes commit reach it too).

        `name` keeps the subscription's cursor in the store, so a restarted application
        goes on where it stopped; without it the subscription starts now (or at the
        beginning with `from_start`). A handler that raises is kept in `Subscription.error`
        and given the event again at the next dispatch; it never fails the step, which has
        committed.
        """
        from .listening import subscription

        processes = [process] if isinstance(process, str) else process
        made = subscription(
            self.store,
            handler,
            name=name,
            processes=None if processes is None else list(processes),
            kinds=None if kinds is None else list(kinds),
            from_start=from_start,
        )
        self.subscriptions = (*self.subscriptions, made)
        return made

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop calling a subscription's handler (its stored cursor stays)."""
        self.subscriptions = tuple(s for s in self.subscriptions if s is not subscription)

    def dispatch(self) -> int:
        """Deliver the events committed since each subscription's cursor; how many."""
        return sum(sub.deliver(self.store) for sub in self.subscriptions)

    def _after(self, *outcomes: Outcome) -> None:
        """Work that happens once a step committed: listeners, CSV sheets, then delivery."""
        if self.subscriptions:
            self._dispatch_quietly()
        if len(outcomes) == 1 and not (outcomes[0].sheets or outcomes[0].messages):
            return  # the common case, without building a generator on every step
        if not any(outcome.sheets or outcome.messages for outcome in outcomes):
            return
        for sheet in sorted({name for outcome in outcomes for name in outcome.sheets}):
            self._write_sheet(sheet)
        if any(outcome.messages for outcome in outcomes) and self.deliver_inline and self.delivery:
            self.deliver()

    def _dispatch_quietly(self) -> None:
        """Dispatch after a committed step: a store that fails now is caught up next time."""
        with contextlib.suppress(StoreError, ConflictError):
            self.dispatch()

    def write_sheets(self, names: Iterable[str]) -> None:
        """Write each named sheet's CSV file afresh from the rows the store holds."""
        for sheet in names:
            self._write_sheet(sheet)

    def _write_sheet(self, sheet: str) -> None:
        from ..messages.sheets import check_sheet_name, write_sheet  # csv, tempfile: when written

        check_sheet_name(sheet)  # before reading: a bad name is refused without the store
        with self.store.transaction(write=False) as tx:
            rows = tx.sheet_rows(sheet)
        write_sheet(self.sheets_dir, sheet, rows)

    # reading --------------------------------------------------------------------------------
    def _view(
        self,
        tx: Transaction,
        record: InstanceRecord,
        acted_as: tuple[str, str | None] | None = None,
        cp: CompiledProcess | None = None,
    ) -> InstanceView:
        if cp is None or cp.process.version != record.version or cp.process.id != record.process:
            cp = self.definitions.for_instance(tx, record.process, record.version)
        facts = _state_facts(cp, record.state)
        terminal = facts.terminal
        # only a task waits on others and only a request has tasks: skip their reads otherwise
        reader = None
        if record.task or cp.process.tasks:
            from .tasks import TaskReader

            reader = TaskReader(tx, self.definitions)
        waiting_on = () if terminal or reader is None else reader.waiting_on(record)
        # positional: a view is built on every step, and twenty keywords cost half as much again
        return InstanceView(
            record.id,
            record.process,
            record.version,
            record.state,
            facts.status,
            facts.reason,
            cp.codec.decode(record.data),
            () if terminal or waiting_on else facts.triggers,
            tuple(TimerView(t.name, t.trigger, t.due_at) for t in tx.timers(record.id))
            if cp.has_timers
            else (),
            record.parent,
            record.task,
            reader.views(record) if reader is not None and cp.process.tasks else (),
            record.created_at,
            record.updated_at,
            record.last_activity_at,
            record.rev,
            terminal,
            waiting_on,
            _sla_due_at(tx, record) if facts.has_sla and not terminal else None,
            facts.owner,
            acted_as,
            record.assignee,
            tuple(job_view(j) for j in tx.jobs(instance=record.id)) if cp.has_jobs else (),
            cp.path(record.state),
        )

    def show(self, instance_id: str) -> InstanceView:
        """The instance as it is now. Raises NotFound."""
        with self.store.transaction(write=False) as tx:
            record, _ = self.executor.load(tx, instance_id)
            return self._view(tx, record)

    def history(self, instance_id: str) -> list[EventRecord]:
        """The instance's events, oldest first. Raises NotFound."""
        with self.store.transaction(write=False) as tx:
            self.executor.load(tx, instance_id)
            return tx.events(instance_id)

    def allowed_triggers(self, instance: InstanceView | str) -> tuple[str, ...]:
        """The triggers with a transition from the instance's current state."""
        view = self.show(instance) if isinstance(instance, str) else instance
        return view.triggers

    def outbox(self, status: str | None = None) -> list[OutboxRecord]:
        """Outbox messages, oldest first, optionally only those with `status`."""
        with self.store.transaction(write=False) as tx:
            return tx.outbox(status)

    def queue(self, name: str | None = None, *, mine: str | None = None) -> QueueView:
        """Work in a queue (every queue when None): ready to start, and in progress.

        `mine` keeps only the work assigned to that person (`fulfil queue --mine --as P`).

        Ready: instances still in their process's initial state. In progress: the others in a
        queued, non-terminal state, the least recently worked on first, so stale work shows
        on top (the dashboard is ordered by the last activity on the task). A request's
        task sits in the queue its `Task` names, else its state's; while it waits on its
        dependencies it is in no queue.

        Raises:
            NotFound: no process of the catalog names a queue called `name`.
        """
        if mine is not None and self.people is not None and self.people.person(mine) is None:
            suggest = getattr(self.people, "suggest", None)
            hint = suggest(mine) if callable(suggest) else ""
            raise UsageError(f"unknown person '{mine}'" + (f" ({hint})" if hint else ""))
        from .finding import read_queue
        from .search import queue_names

        processes = self._processes()
        if name and name not in (known := queue_names(processes)):
            listed = ", ".join(known) if known else "none"
            raise NotFound(f"no queue '{name}'; the processes' queues: {listed}")
        with self.store.transaction(write=False) as tx:
            return read_queue(tx, self.definitions, processes, name, mine)

    def search(self, request: SearchRequest | None = None, **filters: Any) -> SearchPage:
        """One page of the instances matching the filters (`fulfil list`, `GET /api/instances`,
        the workbench's My work).

        Give a `SearchRequest`, or its fields as keywords: `process`, `version`, `state` (a
        name or several), `status`, `queue` (its states' work and the tasks it holds, as
        `fulfil queue` shows it), `initial` (True: still in the initial state; False: moved
        on), `assignee` (`""`: the unassigned), `open` (True: open, False: closed),
        `started_after`/`started_before`, `changed_after`/`changed_before` (from inclusive,
        before exclusive), `text` (in the id or a field's value, case-insensitive), `where`
        (an expression over the process's fields, e.g. `client == "Acme Motors"`; needs
        `process`), `sort` (`created_at`, `updated_at`, `last_activity_at` or `id`, `-` in
        front for descending; default `-created_at`), `limit` (1 to 500), and `cursor` (the
        `next` of the page before). A state, status, queue or initial state is read in the
        state table of each instance's own version. See engine.runtime.search.

        Raises:
            NotFound: no such process (or version).
            UsageError: an unknown state, status, queue or field, a bad sort, limit or cursor.
        """
        from .finding import find_page, search_scope
        from .search import SearchPage, SearchRequest

        request = replace(request or SearchRequest(), **filters)
        catalog = self._processes()
        if request.process is not None:
            self.catalog.get(request.process)  # NotFound: no such process
        now = self.clock.now()
        with self.store.transaction(write=False) as tx:
            scope = search_scope(tx, self.definitions, catalog, request.process, request.version)
            items, following = find_page(tx, self.definitions, request, scope, catalog, now)
            views = tuple(self._view(tx, record) for record in items)
        return SearchPage(views, following)

    def queues(self) -> list[str]:
        """The names of the queues the catalog's processes put work in, sorted."""
        from .search import queue_names

        return queue_names(self._processes())

    def _processes(self) -> list[Process]:
        listing: Any = self.catalog
        return list(listing) if hasattr(listing, "__iter__") else []

    def _pinned(self, tx: Transaction, record: InstanceRecord) -> CompiledProcess:
        return self.definitions.for_instance(tx, record.process, record.version)

    def verify(self, instance_id: str | None = None, *, full: bool = False) -> VerifyReport:
        """Check sealed chains and replay instances: one, or the whole store when None.

        The whole store also checks the store-wide sequence (a deleted instance or a cut
        history leaves a hole in a lane) and histories without an instance row. It reads
        only what changed since the verify marks (`full`: everything), and when it finds
        nothing it marks the instances and lanes it read (docs/audit.md).

        Raises:
            NotFound: no instance `instance_id`.
        """
        from .verify import StoreCheck, Tally, verify_instance, verify_store

        keys = self.audit_keys
        problems: list[VerifyProblem] = []
        tally = Tally()
        check = StoreCheck()
        with self.store.transaction(write=False) as tx:
            if instance_id:
                record, _ = self.executor.load(tx, instance_id)
                problems += verify_instance(
                    record,
                    tx.events(instance_id),
                    partial(self._pinned, tx, record),
                    keys,
                    tally,
                    partial(self.definitions.for_instance, tx, record.process),
                )
                checked = 1
            else:
                pinned = partial(self.definitions.for_instance, tx)
                check = verify_store(tx, keys, tally, pinned, full=full)
                problems, checked = check.problems, check.checked
        problems = sorted(tally.problems(keys) + problems, key=_problem_order)
        if (check.marks or check.lanes) and not problems:
            self._mark(check.marks, check.lanes)
        return VerifyReport(
            checked, tuple(problems), tally.events, keys.ids, tuple(tally.notes(keys))
        )

    def _mark(self, marks: list[MarkRecord], lanes: list[LaneMark]) -> None:
        """Write verify marks; a store that cannot be written (read-only) keeps its old ones,
        which costs the next verify a read of what they would have spared, nothing more."""
        with contextlib.suppress(StoreError), self.store.transaction() as tx:
            tx.put_verify_marks(marks)
            tx.put_lane_marks(lanes)


def tx_version(tx: Transaction, instance_id: str) -> int:
    """The version an instance is on (it exists: the caller just found it)."""
    record = tx.get_instance(instance_id)
    return record.version if record is not None else 0


def _sla_due_at(tx: Transaction, record: InstanceRecord) -> datetime | None:
    """When the SLA of the instance's state falls due (only for a state that has one)."""
    from .sla import due_at

    return due_at(tx, record)
