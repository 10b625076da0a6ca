"""The engine: start instances, fire triggers, fire due timers, and read what happened.

Each call is one store transaction (a role refusal adds a second one that only records the
refused attempt). The engine holds compiled definitions, never instances: every call loads the
instance it needs and stores it back.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from engine.clock import Clock
from engine.delivery import DeliveryAdapter
from engine.errors import ConflictError, ExecutionError, RoleRefused, UsageError
from engine.model import Process
from engine.runtime.compiled import CompiledProcess
from engine.runtime.definitions import CatalogLike, Definitions
from engine.runtime.executor import Executor, HistoryChain, Outcome
from engine.runtime.timers import TimerScheduler, schedule_timer
from engine.runtime.verify import verify_instance
from engine.runtime.views import (
    Fired,
    InstanceView,
    QueueItem,
    QueueView,
    TimerView,
    VerifyReport,
)
from engine.store.base import EventRecord, InstanceRecord, OutboxRecord, Store, Transaction

__all__ = ["Engine"]

MAX_TIMERS_PER_TICK = 100_000
_SHEET_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class Engine:
    """Runs process instances durably against a store.

    Args:
        catalog: where process definitions come from (`engine.loader.Catalog`).
        store: the database (`engine.store.open_store(url)`).
        clock: the time source; engine code never reads the system clock itself.
        sheets_dir: the folder `sheet` actions write CSV files to.
        delivery: sends outbox messages after each call when given (else `deliver()` does).
        scheduler: computes timer due times (default: `engine.runtime.timers.schedule_timer`).
        retries: how often a call is retried when another writer changed the instance first.
    """

    def __init__(
        self,
        catalog: CatalogLike,
        *,
        store: Store,
        clock: Clock,
        sheets_dir: Path = Path("sheets"),
        delivery: DeliveryAdapter | None = None,
        scheduler: TimerScheduler = schedule_timer,
        retries: int = 3,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.clock = clock
        self.sheets_dir = Path(sheets_dir)
        self.delivery = delivery
        self.retries = retries
        self.definitions = Definitions(catalog)
        self.executor = Executor(self.definitions, scheduler)

    # writing --------------------------------------------------------------------------------
    def start(
        self,
        process_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        actor: str = "system",
        role: str | None = None,
        parent: str | None = None,
        task: str | None = None,
    ) -> InstanceView:
        """Start an instance of the process's latest version.

        Raises:
            NotFound: no such process.
            DataError: `data` does not fit the fields, or a required field is missing.
            UsageError: an instance with that id exists.
        """
        now = self.clock.now()
        with self.store.transaction() as tx:
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
            view = self._view(tx, record)
        self._after(Outcome(record, set(), 0))
        return view

    def fire(
        self,
        instance_id: str,
        trigger: str,
        data: Mapping[str, Any] | None = None,
        *,
        actor: str = "system",
        role: str | None = None,
    ) -> InstanceView:
        """Fire a trigger on an instance as `actor` in `role`.

        Raises:
            NotFound, InstanceClosed, TriggerNotAllowed, RoleRefused (recorded in history),
            DataError, RequirementMissing, GuardRefused: the call was refused, nothing stored.
            ConflictError: other writers kept changing the instance through every retry.
        """
        for attempt in range(self.retries + 1):
            now = self.clock.now()
            try:
                with self.store.transaction() as tx:
                    outcome = self.executor.fire(
                        tx, instance_id, trigger, data, actor=actor, role=role, now=now
                    )
                    view = self._view(tx, outcome.record)
                break
            except ConflictError:
                if attempt == self.retries:
                    raise
            except RoleRefused as refused:
                self._record_refusal(instance_id, trigger, actor, role, now, str(refused))
                raise
        self._after(outcome)
        return view

    def _record_refusal(
        self,
        instance_id: str,
        trigger: str,
        actor: str,
        role: str | None,
        now: datetime,
        message: str,
    ) -> None:
        """Audit a refused attempt: one `refused` event, nothing else about the instance."""
        with self.store.transaction() as tx:
            record = tx.get_instance(instance_id)
            if record is None:
                return
            chain = HistoryChain(tx, record)
            chain.add(
                EventRecord(
                    record.id,
                    0,
                    now,
                    actor,
                    role,
                    "refused",
                    trigger,
                    record.state,
                    None,
                    detail={"error": message},
                )
            )
            tx.update_instance(
                replace(record, rev=record.rev + 1, seq=chain.seq, head=chain.head),
                expected_rev=record.rev,
            )

    def tick(self, now: datetime | None = None) -> list[Fired]:
        """Fire every timer due at `now` (default: the clock), earliest first.

        Each firing is its own transaction with the timer's claim and runs at the timer's due
        time, so a tick far in the future fires a chain of timers in order, each at its time.
        A firing the process refuses is recorded as a `refused` event and not retried.
        """
        now = now or self.clock.now()
        fired: list[Fired] = []
        for _ in range(MAX_TIMERS_PER_TICK):
            result = self._tick_one(now)
            if result is None:
                break
            fired.append(result)
        if fired and self.delivery is not None:
            self.deliver()
        return fired

    def _tick_one(self, now: datetime) -> Fired | None:
        with self.store.transaction() as tx:
            timer = tx.next_due_timer(now)
            if timer is None or timer.id is None:
                return None
            record = tx.get_instance(timer.instance)
            at = timer.due_at
            detail: dict[str, Any] = {"timer": timer.name, "due_at": timer.due_at.isoformat()}
            if record is not None and record.updated_at > at:
                at = record.updated_at  # history never goes back in time
                detail["late"] = True
        try:
            with self.store.transaction() as tx:
                if not tx.claim_timer(timer.id, now):
                    return Fired(timer.instance, timer.name, timer.trigger, timer.due_at, at, "")
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
        except ExecutionError as exc:
            return self._timer_refused(
                timer.id, timer.instance, timer.trigger, now, at, str(exc), timer.name, timer.due_at
            )
        self._after(outcome)
        return Fired(
            timer.instance, timer.name, timer.trigger, timer.due_at, at, outcome.record.state
        )

    def _timer_refused(
        self,
        timer_id: int,
        instance_id: str,
        trigger: str,
        now: datetime,
        at: datetime,
        message: str,
        name: str,
        due_at: datetime,
    ) -> Fired:
        with self.store.transaction() as tx:
            state = ""
            if tx.claim_timer(timer_id, now):
                record = tx.get_instance(instance_id)
                if record is not None:
                    state = record.state
                    chain = HistoryChain(tx, record)
                    chain.add(
                        EventRecord(
                            record.id,
                            0,
                            at,
                            "timer",
                            None,
                            "refused",
                            trigger,
                            record.state,
                            None,
                            detail={"timer": name, "error": message},
                        )
                    )
                    tx.update_instance(
                        replace(record, rev=record.rev + 1, seq=chain.seq, head=chain.head),
                        expected_rev=record.rev,
                    )
        return Fired(instance_id, name, trigger, due_at, at, state, refused=message)

    def deliver(self, adapter: DeliveryAdapter | None = None) -> list[OutboxRecord]:
        """Send pending outbox messages through `adapter` (default: the engine's)."""
        adapter = adapter or self.delivery
        if adapter is None:
            raise UsageError("no delivery adapter configured")
        with self.store.transaction(write=False) as tx:
            pending = tx.outbox("pending")
        done: list[OutboxRecord] = []
        for message in pending:
            try:
                adapter.send(message)
                result = replace(
                    message,
                    status="sent",
                    attempts=message.attempts + 1,
                    error="",
                    delivered_at=self.clock.now(),
                )
            except Exception as exc:  # any adapter failure is recorded and retried later
                result = replace(
                    message,
                    attempts=message.attempts + 1,
                    error=str(exc),
                    status="failed" if message.attempts >= 4 else "pending",
                )
            with self.store.transaction() as tx:
                tx.update_outbox(result)
            done.append(result)
        return done

    def _after(self, outcome: Outcome) -> None:
        """Work that happens once a step committed: CSV sheets, then delivery."""
        for sheet in sorted(outcome.sheets):
            self._write_sheet(sheet)
        if outcome.messages and self.delivery is not None:
            self.deliver()

    def _write_sheet(self, sheet: str) -> None:
        if not _SHEET_NAME.match(sheet):
            raise UsageError(f"sheet name '{sheet}' may use letters, digits, _ . - only")
        with self.store.transaction(write=False) as tx:
            rows = tx.sheet_rows(sheet)
        header = list(dict.fromkeys(name for row in rows for name, _ in row.values))
        self.sheets_dir.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.sheets_dir, suffix=".csv.tmp")
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=header)
            writer.writeheader()
            for row in rows:
                writer.writerow(dict(row.values))
        os.replace(temp, self.sheets_dir / f"{sheet}.csv")

    # reading --------------------------------------------------------------------------------
    def _view(self, tx: Transaction, record: InstanceRecord) -> InstanceView:
        cp = self.definitions.for_instance(tx, record.process, record.version)
        status, reason = cp.status(record.state)
        terminal = record.state in cp.terminal
        return InstanceView(
            id=record.id,
            process=record.process,
            version=record.version,
            state=record.state,
            status=status,
            closure_reason=reason,
            data=cp.codec.decode(record.data),
            triggers=() if terminal else cp.triggers_from.get(record.state, ()),
            timers=tuple(TimerView(t.name, t.trigger, t.due_at) for t in tx.timers(record.id))
            if cp.has_timers
            else (),
            parent=record.parent,
            task=record.task,
            children=tuple(c.id for c in tx.children(record.id)),
            created_at=record.created_at,
            updated_at=record.updated_at,
            last_activity_at=record.last_activity_at,
            rev=record.rev,
            terminal=terminal,
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

    def queue(self, name: str | None = None) -> QueueView:
        """Work in a queue (every queue when None): ready to start, and in progress.

        Ready: instances still in their process's initial state. In progress: the others in a
        queued, non-terminal state, the least recently worked on first, so stale work shows
        on top (seed 000 orders the dashboard by the last activity on the task).
        """
        wanted: dict[tuple[str, str], tuple[bool, str | None, str | None, str]] = {}
        for process in self._processes():
            for state in process.states:
                if state.queue is None or state.terminal or (name and state.queue != name):
                    continue
                wanted[(process.id, state.name)] = (
                    state.initial,
                    state.queue,
                    state.owner,
                    state.status or state.name,
                )
        ready: list[QueueItem] = []
        in_progress: list[QueueItem] = []
        with self.store.transaction(write=False) as tx:
            for record in tx.find_instances(sorted(wanted)):
                initial, queue, owner, status = wanted[(record.process, record.state)]
                item = QueueItem(
                    record.id,
                    record.process,
                    record.state,
                    status,
                    queue,
                    owner,
                    record.created_at,
                    record.last_activity_at,
                )
                (ready if initial else in_progress).append(item)
        return QueueView(tuple(ready), tuple(in_progress))

    def _processes(self) -> list[Process]:
        listing: Any = self.catalog
        return list(listing) if hasattr(listing, "__iter__") else []

    def _pinned(self, tx: Transaction, record: InstanceRecord) -> CompiledProcess:
        return self.definitions.for_instance(tx, record.process, record.version)

    def verify(self, instance_id: str | None = None) -> VerifyReport:
        """Check hash chains and replay instances (one, or all when None)."""
        problems = []
        checked = 0
        with self.store.transaction(write=False) as tx:
            ids: Iterable[str] = [instance_id] if instance_id else list(tx.instance_ids())
            for current in ids:
                record, _ = self.executor.load(tx, current)
                problems += verify_instance(
                    record, tx.events(current), partial(self._pinned, tx, record)
                )
                checked += 1
        return VerifyReport(checked, tuple(problems))
