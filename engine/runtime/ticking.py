"""Firing due timers for `Engine.tick`: claim the earliest, fire it, retry a lost race.

A timer is a batch send, an SLA notice or a trigger on its instance. Its claim and its firing
are one transaction; a firing the process refuses is claimed anyway and recorded as a
`refused` event, never retried. `tick` puts up to `TICK_BATCH` firings of different instances
in one transaction, so they share a commit (on a power-safe store, an fsync), each between a
savepoint and its release: a firing that fails is undone alone and the others commit. A crash
before the commit leaves every timer of the batch pending, for the next tick.

`Engine.fire` catches up first: before a person's event on an instance at time T, every timer
due by T that can change that instance fires here, exactly as `tick` would have fired it, so a
history does not depend on how far behind the worker is. Those timers (`family_due_timer`) are
the pending timers of the instance's family (its request and all the request's tasks, which
reach each other through emits, rules and releases) and the batch timers of the batch states
they are in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from ..errors import ConflictError, ExecutionError, NotFound
from ..frozen import frozen
from ..store.base import InstanceRecord, Store, TimerRecord, Transaction, to_iso
from .batches import BATCH_OWNER, retry_batch, send_batch
from .compiled import CompiledProcess
from .definitions import Definitions
from .executor import Executor, Outcome
from .history import HistoryChain
from .sla import fire_notice
from .step import builtins
from .timers import CompiledTimer, is_sla_timer
from .views import Fired

__all__ = ["MAX_TIMERS_PER_TICK", "TICK_BATCH", "Ticker", "family_due_timer"]

MAX_TIMERS_PER_TICK = 100_000
# How many due timers `tick` fires in one transaction (one commit, one fsync), each of a
# different instance and undone alone when it fails. 20 makes a commit's cost a twentieth per
# timer, and keeps a PostgreSQL batch under the 64 subtransactions a backend tracks in shared
# memory (each firing takes two savepoints: its own and its claim's), past which every other
# session's snapshots get slower. 1 is one transaction per timer.
TICK_BATCH = 20
_NO_RECORD: Any = None  # an Outcome that only queued messages (a batch, an SLA notice)
_Claim = Callable[[Transaction, datetime], TimerRecord | None]


def _family(
    tx: Transaction, definitions: Definitions, record: InstanceRecord
) -> Iterable[InstanceRecord]:
    """The instance, and when it is a request or a task, its whole request and tasks."""
    if (
        record.parent is None
        and not definitions.for_instance(tx, record.process, record.version).process.tasks
    ):
        return (record,)
    root = record
    while root.parent is not None:
        root = tx.get_instance(root.parent) or replace(root, parent=None)
    members, todo = [], [root]
    while todo:
        member = todo.pop()
        members.append(member)
        todo.extend(tx.children(member.id))
    return members


def family_due_timer(
    tx: Transaction,
    definitions: Definitions,
    instance: str | InstanceRecord,
    now: datetime,
    cp: CompiledProcess | None = None,
) -> TimerRecord | None:
    """The earliest pending timer due by `now` whose firing can change the instance (or None).

    That is a timer of the instance's family, or the batch timer of a batch state one of its
    members is in; ties go by id, as `claim_due_timer` orders them. `instance` is its id, or
    its record when the caller has read it already (and `cp` its definition, when it has that
    too). An instance alone (no request, no tasks) whose process has no timers and whose state
    gathers no batch has none: nothing is read.
    """
    record = tx.get_instance(instance) if isinstance(instance, str) else instance
    if record is None:
        return None
    if record.parent is None:
        if cp is None:
            cp = definitions.for_instance(tx, record.process, record.version)
        if not (cp.process.tasks or cp.has_timers or record.state in cp.batches):
            return None
    due: list[TimerRecord] = []
    batch_states: set[tuple[str, str]] = set()
    for member in _family(tx, definitions, record):
        cp = definitions.for_instance(tx, member.process, member.version)
        if cp.has_timers:
            due += [t for t in tx.timers(member.id) if t.due_at <= now]
        if member.state in cp.batches:
            batch_states.add((member.process, member.state))
    if batch_states:
        due += [
            t
            for t in tx.timers(BATCH_OWNER)
            if t.due_at <= now and (t.data.get("process"), t.state) in batch_states
        ]
    return min(due, key=lambda t: (t.due_at, t.id or 0), default=None)


@frozen(slots=True)
class Ticker:
    """One `Engine.tick`: the engine's store, executor and definitions, and its after-commit work.

    Args:
        store: where timers and instances live.
        executor: runs a timer's trigger on its instance.
        definitions: the compiled definitions (a refused batch is rescheduled from them).
        retries: how often a firing that lost a race with another writer is tried again.
        after: the engine's work once a firing committed (sheets, delivery).
        hook: the engine's step hooks, called inside a firing's transaction with (tx, call,
            instance id, trigger, actor) for each instance it stepped; call is "timer", "sla"
            or "batch".
        batch: how many timers of different instances `tick` fires in one transaction
            (`TICK_BATCH`; 1: each in its own).
    """

    store: Store
    executor: Executor
    definitions: Definitions
    retries: int
    after: Callable[..., None]
    hook: Callable[[Transaction, str, str, str | None, str], None] | None = None
    batch: int = TICK_BATCH

    def tick(self, now: datetime, stop: Callable[[], bool] | None = None) -> list[Fired]:
        """Fire every timer due at `now`, earliest first, asking `stop` between firings."""
        fired: list[Fired] = []
        while len(fired) < MAX_TIMERS_PER_TICK:
            if stop is not None and stop():
                break
            if self.batch > 1:
                batch, lost, drained = self._fire_batch(now, stop, MAX_TIMERS_PER_TICK - len(fired))
                fired += batch
                if drained:
                    break
                if lost is None:
                    continue
                result = self._tick_one(now, tried=lost)
            else:
                result = self._tick_one(now)
            if result is None:
                break
            fired.append(result)
        return fired

    def _fire_batch(
        self, now: datetime, stop: Callable[[], bool] | None, limit: int
    ) -> tuple[list[Fired], int | None, bool]:
        """Claim and fire up to `batch` due timers of different instances in one transaction.

        Each firing has a savepoint of its own: one the process refuses is undone to it and
        recorded as `refused` in the same transaction; one that fails otherwise (a race lost
        to another writer, an error) is undone to it and ends the batch, which commits
        without it, and the caller fires that timer alone, as `_tick_one` always has (its
        retries, its errors). The batch also ends before a second timer of an instance it
        holds, so timers still fire in due order and each instance's firings one by one.

        Returns the timers fired; None, or when the next timer is to be fired alone, how many
        of its attempts the batch spent (1 for a lost race, 0 else); and whether no timer was
        due any more.
        """
        fired: list[Fired] = []
        outcomes: list[Outcome] = []
        held: set[str] = set()
        lost: int | None = None
        drained = False
        with self.store.transaction() as tx:
            while len(fired) < min(self.batch, limit):
                if fired and stop is not None and stop():
                    break
                mark = tx.savepoint()
                claimed = tx.claim_due_timer(now)
                if claimed is None or claimed.instance in held:
                    tx.rollback_to(mark)
                    tx.release(mark)
                    drained = claimed is None
                    break
                try:
                    try:
                        one, done = self._fire_timer(tx, claimed)
                    except (ExecutionError, NotFound) as exc:
                        assert claimed.id is not None  # a claimed timer was stored
                        tx.rollback_to(mark)
                        one, done = self._refuse(tx, claimed.id, claimed, now, str(exc)), []
                    tx.release(mark)
                except Exception as exc:  # fired again alone, where it raises as it always did
                    tx.rollback_to(mark)
                    tx.release(mark)
                    lost = 1 if isinstance(exc, ConflictError) else 0
                    break
                held.add(claimed.instance)
                fired.append(one)
                outcomes += done
        self.after(*outcomes)
        return fired, lost, drained

    def catch_up(self, instance_id: str, now: datetime) -> list[Fired]:
        """Fire, earliest first, every timer due by `now` that can change the instance.

        Each firing is its own transaction, as in `tick`; `Engine.fire` calls this before a
        person's event so that the event meets the state those timers left.
        """
        claim = partial(self._claim_for, instance_id)
        fired: list[Fired] = []
        for _ in range(MAX_TIMERS_PER_TICK):
            result = self._tick_one(now, claim)
            if result is None:
                break
            fired.append(result)
        return fired

    def _claim_for(self, instance_id: str, tx: Transaction, now: datetime) -> TimerRecord | None:
        timer = family_due_timer(tx, self.definitions, instance_id, now)
        if timer is None or timer.id is None or not tx.claim_timer(timer.id, now):
            return None
        return replace(timer, fired_at=now)

    def _tick_one(self, now: datetime, claim: _Claim | None = None, tried: int = 0) -> Fired | None:
        """Fire the earliest due timer, again when its firing lost a race (up to `retries`,
        `tried` of them spent already).

        A firing that lost to another writer of its instance (ConflictError) rolled back with
        its claim, so the timer is pending again and the next attempt claims it afresh.
        """
        attempt = tried
        while True:
            try:
                return self._claim_and_fire(now, claim)
            except ConflictError:
                attempt += 1
                if attempt > self.retries:
                    raise

    def _claim_and_fire(self, now: datetime, claim: _Claim | None) -> Fired | None:
        """Claim the earliest due timer and fire it, claim and firing in one transaction."""
        claimed: TimerRecord | None = None
        try:
            with self.store.transaction() as tx:
                claimed = tx.claim_due_timer(now) if claim is None else claim(tx, now)
                if claimed is None:
                    return None
                fired, outcomes = self._fire_timer(tx, claimed)
        except (ExecutionError, NotFound) as exc:
            if claimed is None or claimed.id is None:
                raise
            return self._timer_refused(claimed.id, claimed, now, str(exc))
        self.after(*outcomes)
        return fired

    def _fire_timer(self, tx: Transaction, timer: TimerRecord) -> tuple[Fired, list[Outcome]]:
        """What a claimed timer does: a batch, an SLA notice, or its trigger on its instance."""
        due = timer.due_at
        hook = self.hook
        if timer.instance == BATCH_OWNER:
            sent = send_batch(tx, self.executor, timer, due)
            if hook is not None:
                for stepped in sent.outcomes:
                    hook(tx, "batch", stepped.record.id, timer.trigger, "timer")
            outcomes = [*sent.outcomes, Outcome(_NO_RECORD, set(), len(sent.outbox))]
            fired = Fired(sent.reference, timer.name, timer.trigger, due, due, timer.state)
            return fired, outcomes
        record, cp = self.executor.load(tx, timer.instance)
        at = max(due, record.updated_at)  # history never goes back in time
        if is_sla_timer(timer.name):
            state, queued = fire_notice(tx, cp, timer, at, self.executor.keys, self.executor.people)
            if hook is not None:
                hook(tx, "sla", timer.instance, None, "timer")
            fired = Fired(timer.instance, timer.name, timer.trigger, due, at, state)
            return fired, [Outcome(_NO_RECORD, set(), queued)]
        detail: dict[str, Any] = {"timer": timer.name, "due_at": due.isoformat()}
        if at > due:
            detail["late"] = True
        compiled = cp.timer_named(timer.state, timer.name)
        if compiled is not None and compiled.unless is not None:
            variables = cp.codec.decode(record.data)
            variables.update(builtins(record.state, at, "timer", None))
            if compiled.spent(variables):
                self._spend(tx, cp, record, timer, compiled, at, detail)
                if hook is not None:
                    hook(tx, "timer", timer.instance, timer.trigger, "timer")
                fired = Fired(timer.instance, timer.name, timer.trigger, due, at, record.state)
                return fired, [Outcome(_NO_RECORD, set(), 0)]
        outcome = self.executor.fire(
            tx,
            timer.instance,
            timer.trigger,
            timer.data,
            actor="timer",
            role=None,
            now=at,
            kind="timer",
            internal=True,
            detail=detail,
        )
        if hook is not None:
            hook(tx, "timer", timer.instance, timer.trigger, "timer")
        fired = Fired(timer.instance, timer.name, timer.trigger, due, at, outcome.record.state)
        return fired, [outcome]

    def _spend(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        record: InstanceRecord,
        timer: TimerRecord,
        compiled: CompiledTimer,
        at: datetime,
        detail: dict[str, Any],
    ) -> None:
        """A timer come due whose `unless` holds: it does nothing but leave a `spent` event
        (a recurring one is armed for its next time); the instance stays as it is."""
        spec = compiled.timer
        assert spec.unless is not None
        detail["unless"] = spec.unless.source
        if spec.every is not None:
            variables = cp.codec.decode(record.data)
            due = self.executor.scheduler(compiled, variables, at)
            if due is not None:
                tx.add_timer(
                    TimerRecord(
                        record.id, spec.name, timer.state, spec.trigger, due, at, dict(spec.data)
                    )
                )
                detail["timers"] = [{"name": spec.name, "due_at": to_iso(due)}]
        chain = HistoryChain(tx, record, self.executor.keys)
        chain.add(
            "spent",
            at=at,
            actor="timer",
            trigger=timer.trigger,
            source=record.state,
            detail=detail,
        )
        chain.save(record, updated_at=at)

    def _timer_refused(
        self, timer_id: int, timer: TimerRecord, now: datetime, message: str
    ) -> Fired:
        """Claim a timer whose firing the process refused and record why (not retried)."""
        with self.store.transaction() as tx:
            return self._refuse(tx, timer_id, timer, now, message)

    def _refuse(
        self, tx: Transaction, timer_id: int, timer: TimerRecord, now: datetime, message: str
    ) -> Fired:
        """`_timer_refused` in the transaction given."""
        instance_id, trigger, name, due_at = timer.instance, timer.trigger, timer.name, timer.due_at
        at = due_at
        state = ""
        if tx.claim_timer(timer_id, now):
            if instance_id == BATCH_OWNER:
                retry_batch(tx, self.definitions, timer, now)
            record = tx.get_instance(instance_id)
            if record is not None:
                state = record.state
                at = max(at, record.updated_at)
                chain = HistoryChain(tx, record, self.executor.keys)
                chain.add(
                    "refused",
                    at=at,
                    actor="timer",
                    trigger=trigger,
                    source=record.state,
                    detail={"timer": name, "error": message},
                )
                chain.save(record)
        return Fired(instance_id, name, trigger, due_at, at, state, refused=message)
