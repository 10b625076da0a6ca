"""What entering a state arms: its timers and its batch, and the timers a step re-arms.

The executor enters states as a step moves an instance; a request releasing a waiting task, an
operator's move and a migration enter them the same way, through `Arming.enter`, which returns
the notes their history event carries (`{"name", "due_at"...}` per timer); `rearm_recurring`
and `rearm_idle` add theirs to the step's event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..store.base import TimerRecord, Transaction, to_iso
from .compiled import CompiledProcess
from .step import Step
from .timers import TimerScheduler

__all__ = ["Arming"]


class Arming:
    """Arms the timers and batches of states entered, through one `TimerScheduler`."""

    def __init__(self, scheduler: TimerScheduler) -> None:
        self.scheduler = scheduler

    def enter(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        instance_id: str,
        state: str,
        variables: Mapping[str, Any],
        now: datetime,
        pending: Mapping[str, set[str]] | None = None,
        states: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Schedule the timers (and join the batches) of the states entered; notes for the
        history event. `states` are those entered, outermost first; by default every state an
        instance in `state` is in (a compound state's and those inside it).

        `pending` is given when the instance re-enters states it was in: for each, the names
        of its timers that were still pending. An `at` timer already past that is not among
        them has fired (or was missed) on the first entry and is not armed again, else a
        self-loop would fire it forever.
        """
        notes: list[dict[str, Any]] = []
        for name in cp.path(state) if states is None else states:
            again = None if pending is None else pending.get(name)
            notes.extend(self._arm_state(tx, cp, instance_id, name, variables, now, again))
        return notes

    def _arm_state(
        self,
        tx: Transaction,
        cp: CompiledProcess,
        instance_id: str,
        state: str,
        variables: Mapping[str, Any],
        now: datetime,
        pending: set[str] | None,
    ) -> list[dict[str, Any]]:
        """The timers and batch of one state entered."""
        notes: list[dict[str, Any]] = []
        if state in cp.batches:
            from .batches import join_batch  # only a state that gathers a batch

            notes.append(join_batch(tx, cp, instance_id, state, now))
        for timer in cp.timers.get(state, ()):
            spec = timer.timer
            due = self.scheduler(timer, variables, now)
            if due is None:
                notes.append({"name": spec.name, "scheduled": False})
                continue
            stale = spec.at is not None and due <= now
            if pending is not None and stale and spec.name not in pending:
                notes.append({"name": spec.name, "due_at": to_iso(due), "rearmed": False})
                continue
            tx.add_timer(
                TimerRecord(instance_id, spec.name, state, spec.trigger, due, now, dict(spec.data))
            )
            note: dict[str, Any] = {"name": spec.name, "due_at": to_iso(due)}
            if due < now:
                note["past"] = True  # fired by the next tick, never dropped
            notes.append(note)
        return notes

    def rearm_recurring(
        self, tx: Transaction, step: Step, detail: dict[str, Any], left: tuple[str, ...] = ()
    ) -> None:
        """A recurring timer that fired a transition the instance stays in its state through
        (an internal one, or one between the states inside the compound state owning the
        timer) is armed for its next time; a state `left` arms its timers when entered."""
        name = detail.get("timer")
        record = step.record
        for state, timer in step.cp.timers_around(record.state):
            spec = timer.timer
            if spec.name != name or spec.every is None or state in left:
                continue
            due = self.scheduler(timer, step.vars, step.now)
            if due is not None:
                tx.add_timer(
                    TimerRecord(
                        record.id,
                        spec.name,
                        state,
                        spec.trigger,
                        due,
                        step.now,
                        dict(spec.data),
                    )
                )
                detail.setdefault("timers", []).append({"name": spec.name, "due_at": to_iso(due)})

    def rearm_idle(
        self,
        tx: Transaction,
        step: Step,
        dest: str,
        entries: tuple[str, ...],
        detail: dict[str, Any],
    ) -> None:
        """A step in a state arms its `idle` timers afresh: those of the states the instance
        stays in (all of them for an internal transition) that were pending, or that fired
        this step. A task waiting on its dependencies has none pending: nothing is armed."""
        cp, record = step.cp, step.record
        fired = detail.get("timer")
        pending: list[TimerRecord] | None = None
        for state in cp.path(dest):
            if state in entries:
                continue
            for timer in cp.idle.get(state, ()):
                spec = timer.timer
                if pending is None:
                    pending = tx.timers(record.id)
                old = [t for t in pending if t.state == state and t.name == spec.name]
                if not old and fired != spec.name:
                    continue
                for stale in old:
                    if stale.id is not None:
                        tx.cancel_timer(stale.id)
                due = self.scheduler(timer, step.vars, step.now)
                if due is None:
                    continue
                tx.add_timer(
                    TimerRecord(
                        record.id, spec.name, state, spec.trigger, due, step.now, dict(spec.data)
                    )
                )
                note = {"name": spec.name, "due_at": to_iso(due), "idle": True}
                detail.setdefault("timers", []).append(note)
