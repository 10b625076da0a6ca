"""Running scenarios: each on a fresh store, with a `ManualClock` at the scenario's `clock`.

`ScenarioRun` executes one scenario's steps against an `Engine` over the processes of the
scenario file's folder; the first failing step stops it and is kept, with every mismatch it
found, in the `ScenarioResult`. An exception that is not a `FulfilError` (a bug, not a refusal)
also fails the scenario, and is kept so a test can show its traceback.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock.clocks import ManualClock
from ..definition.loader import Catalog
from ..errors import ClockError, FulfilError
from ..people import Directory
from ..runtime import Engine, InstanceView
from ..runtime.views import ChildView
from ..store import MemoryStore, SQLiteStore, Store
from ..store.base import OutboxRecord, SheetRow
from .expectations import Mismatch, compare_instance, compare_outbox, compare_sheets, show
from .scenarios import Scenario, ScenarioStep

__all__ = ["STORES", "ScenarioResult", "ScenarioRun", "StepFailure", "fresh_store", "run_scenario"]

STORES = ("memory", "sqlite")
_INSTANCE_KEYS = frozenset(
    {
        "state",
        "status",
        "closure_reason",
        "fields",
        "fields_contain",
        "triggers",
        "triggers_exact",
        "timers",
        "children",
        "started",
        "history_length",
    }
)


@dataclass(frozen=True)
class StepFailure:
    """The step a scenario stopped at, what did not hold, and the exception if it crashed."""

    step: ScenarioStep
    mismatches: tuple[Mismatch, ...]
    error: BaseException | None = None


@dataclass(frozen=True)
class ScenarioResult:
    """What running one scenario gave.

    Attributes:
        scenario: the scenario run.
        failure: the failing step, or None when every step held.
        instances: the engine id of each instance the scenario started, by its name.
        current: the engine id of the current (last started) instance.
    """

    scenario: Scenario
    failure: StepFailure | None = None
    instances: Mapping[str, str] = field(default_factory=dict)
    current: str | None = None

    @property
    def passed(self) -> bool:
        return self.failure is None


class _StepFailed(Exception):
    def __init__(self, *mismatches: Mismatch) -> None:
        super().__init__(mismatches)
        self.mismatches = mismatches


@contextmanager
def fresh_store(kind: str = "memory") -> Iterator[Store]:
    """A new empty store: in memory, or in a temporary SQLite file removed afterwards."""
    if kind == "memory":
        store: Store = MemoryStore()
        try:
            yield store
        finally:
            store.close()
        return
    with tempfile.TemporaryDirectory(prefix="fulfil-scenario-") as folder:
        store = SQLiteStore(Path(folder) / "scenario.db")
        try:
            yield store
        finally:
            store.close()


def run_scenario(
    scenario: Scenario,
    catalog: Catalog,
    *,
    store: str | Store = "memory",
    sheets_dir: Path | None = None,
    id_prefix: str = "",
    people: Directory | None = None,
) -> ScenarioResult:
    """Run one scenario.

    Args:
        scenario: the scenario to run.
        catalog: the processes it runs against (those of its file's folder).
        store: `memory` or `sqlite` for a fresh store of that kind, or a store to run in.
        sheets_dir: where `sheet` actions write CSV files (default: a temporary folder).
        id_prefix: put before every instance name to make the engine's instance id.
        people: the people directory the steps' `as` must name (None: open mode).

    Returns:
        The result; a failing scenario is a result, not an exception.
    """
    opened: AbstractContextManager[Store]
    opened = fresh_store(store) if isinstance(store, str) else _borrowed(store)
    with opened as live, tempfile.TemporaryDirectory(prefix="fulfil-sheets-") as temp:
        run = ScenarioRun(
            scenario,
            catalog,
            store=live,
            sheets_dir=sheets_dir or Path(temp),
            id_prefix=id_prefix,
            people=people,
        )
        return run.run()


@contextmanager
def _borrowed(store: Store) -> Iterator[Store]:
    yield store


class ScenarioRun:
    """The steps of one scenario, executed in order against one engine."""

    def __init__(
        self,
        scenario: Scenario,
        catalog: Catalog,
        *,
        store: Store,
        sheets_dir: Path,
        id_prefix: str = "",
        hidden: frozenset[str] = frozenset(),
        people: Directory | None = None,
    ) -> None:
        self.scenario = scenario
        self.catalog = catalog
        self.clock = ManualClock(scenario.clock)
        self.engine = Engine(
            catalog, store=store, clock=self.clock, sheets_dir=sheets_dir, people=people
        )
        self.id_prefix = id_prefix
        self.instances: dict[str, str] = {}
        self.current: str | None = None
        # In a store shared with earlier runs (the demo), their instances, messages and rows
        # are not this scenario's: `hidden` names those instances.
        self.hidden = hidden
        self.earlier = {m.id for m in self.engine.outbox()} if hidden else set()
        self.seen = 0

    def run(self) -> ScenarioResult:
        """Run every step until one fails."""
        failure = None
        for step in self.scenario.steps:
            try:
                getattr(self, f"do_{step.kind}")(step)
            except _StepFailed as failed:
                failure = StepFailure(step, failed.mismatches)
            except Exception as exc:  # a crash fails the scenario; the exception is kept
                found = f"{type(exc).__name__}: {exc}"
                failure = StepFailure(step, (Mismatch("the step runs", found),), exc)
            if failure is not None:
                break
        return ScenarioResult(self.scenario, failure, dict(self.instances), self.current)

    # acting ------------------------------------------------------------------------------
    def do_start(self, step: ScenarioStep) -> None:
        engine_id = f"{self.id_prefix}{step.alias}" if step.alias else None
        try:
            view = self.engine.start(
                self.scenario.process, step.data, id=engine_id, actor=step.actor, role=step.role
            )
        except FulfilError as exc:
            self._refused("start", step, exc)
            return
        if step.error is not None:
            raise _StepFailed(
                Mismatch(
                    f"the start is refused with a message containing {step.error!r}",
                    "the start succeeded",
                )
            )
        self.instances[step.alias] = view.id
        self.current = view.id

    def do_fire(self, step: ScenarioStep) -> None:
        target = self.target(step)
        before = self._snapshot(target) if step.error is not None else None
        try:
            view = self.engine.fire(
                target, step.trigger, step.data, actor=step.actor, role=step.role
            )
        except FulfilError as exc:
            self._refused(f"fire {step.trigger}", step, exc)
            after = self._snapshot(target)
            if before != after:
                raise _StepFailed(
                    Mismatch(
                        "a refused fire changes nothing", f"{show(before)} became {show(after)}"
                    )
                ) from None
            return
        if step.error is not None:
            raise _StepFailed(
                Mismatch(
                    f"fire {step.trigger} is refused with a message containing {step.error!r}",
                    f"it fired: {view.id} is now in {view.state} ({view.status})",
                )
            )

    def _refused(self, what: str, step: ScenarioStep, exc: FulfilError) -> None:
        if step.error is None:
            raise _StepFailed(Mismatch(f"{what} succeeds", f"refused: {exc}")) from None
        if step.error.lower() not in str(exc).lower():
            raise _StepFailed(
                Mismatch(
                    f"{what} is refused with a message containing {step.error!r}", f"refused: {exc}"
                )
            ) from None

    def _snapshot(self, instance_id: str) -> dict[str, Any]:
        view = self.engine.show(instance_id)
        return {"state": view.state, "data": view.data, "outbox": len(self.messages())}

    def do_advance(self, step: ScenarioStep) -> None:
        assert step.delta is not None
        self.clock.advance(step.delta)

    def do_at(self, step: ScenarioStep) -> None:
        assert step.moment is not None
        try:
            self.clock.set(step.moment)
        except ClockError as exc:
            moving = f"the clock moves to {step.moment.isoformat()}"
            raise _StepFailed(Mismatch(moving, str(exc))) from None

    def do_tick(self, step: ScenarioStep) -> None:
        self.engine.tick()

    # looking -----------------------------------------------------------------------------
    def target(self, step: ScenarioStep) -> str:
        """The engine id of the instance (or its child task) a step names."""
        instance = self.current if step.instance is None else self.instances.get(step.instance)
        if instance is None:
            raise _StepFailed(Mismatch(f"an instance {step.instance or ''} to act on", "none"))
        if step.task is None:
            return instance
        child = self.child(self.engine.show(instance), step.task)
        if child is None:
            raise _StepFailed(self._no_child(instance, step.task))
        return child.id

    def child(self, parent: InstanceView, task: str) -> ChildView | None:
        return next((c for c in parent.children if c.task == task), None)

    def _no_child(self, instance: str, task: str) -> Mismatch:
        tasks = [c.task or c.id for c in self.engine.show(instance).children]
        return Mismatch(f"a child task '{task}' of {instance}", f"children: {show(tasks)}")

    def do_expect(self, step: ScenarioStep) -> None:
        checks = step.checks
        out: list[Mismatch] = []
        if step.instance or step.task or _INSTANCE_KEYS & set(checks):
            view = self.engine.show(self.target(step))
            out += compare_instance(
                checks, view, history_length=lambda: len(self.engine.history(view.id))
            )
            out += self._children(checks.get("children", {}), view)
            out += self._started(checks.get("started", {}), view)
        if "outbox" in checks:
            messages = self.messages()
            new, self.seen = messages[self.seen :], len(messages)
            out += compare_outbox(checks["outbox"], new)
        if "outbox_count" in checks:
            total = len(self.messages())
            if total != checks["outbox_count"]:
                out.append(
                    Mismatch(
                        f"outbox_count == {checks['outbox_count']}", f"outbox_count == {total}"
                    )
                )
        if "sheets" in checks:
            out += compare_sheets(checks["sheets"], self.sheet_rows)
        if out:
            raise _StepFailed(*out)

    def _started(self, wanted: Mapping[str, Any], view: InstanceView) -> list[Mismatch]:
        """Checks on the instances the instance's `start` actions started, by process id (the
        last one started of each process)."""
        if not wanted:
            return []
        started: dict[str, str] = {}
        for event in self.engine.history(view.id):
            for other in event.detail.get("started", ()):
                started[self.engine.show(other).process] = other
        out: list[Mismatch] = []
        for process, spec in wanted.items():
            if process not in started:
                found = f"it started: {show(sorted(started))}" if started else "it started none"
                out.append(Mismatch(f"{view.id} started an instance of {process}", found))
                continue
            other = self.engine.show(started[process])
            out += compare_instance(spec, other, prefix=f"started.{process}.")
        return out

    def _children(self, wanted: Mapping[str, Any], parent: InstanceView) -> list[Mismatch]:
        out: list[Mismatch] = []
        for task, spec in wanted.items():
            child = self.child(parent, task)
            if child is None:
                out.append(self._no_child(parent.id, task))
                continue
            prefix = f"children.{task}."
            out += compare_instance(spec, self.engine.show(child.id), prefix=prefix)
            if "released" in spec:
                got = child.released
                if got != spec["released"]:
                    out.append(
                        Mismatch(
                            f"{prefix}released == {show(spec['released'])}",
                            f"released == {show(got)} (state {child.state})",
                        )
                    )
        return out

    def messages(self) -> list[OutboxRecord]:
        """The outbox messages of this scenario, oldest first."""
        return [
            m
            for m in self.engine.outbox()
            if m.id not in self.earlier and m.instance not in self.hidden
        ]

    def sheet_rows(self, sheet: str) -> list[SheetRow]:
        """The rows this scenario appended to a sheet."""
        with self.engine.store.transaction(write=False) as tx:
            rows = tx.sheet_rows(sheet)
        return [row for row in rows if row.instance not in self.hidden]
