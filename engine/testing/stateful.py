"""Any process definition as a Hypothesis `RuleBasedStateMachine` checking the engine's promises.

    Machine = process_state_machine("processes/facebook_access.yaml")
    TestFacebookAccess = Machine.TestCase            # collected by pytest / unittest
    # or: hypothesis.stateful.run_state_machine_as_test(Machine, settings=...)

Rules: start an instance (up to MAX_INSTANCES), fire any trigger on an instance or one of its
tasks (the triggers allowed now, most of the time, else any trigger of its process) with data
and an (actor, role) from `engine.testing.strategies`, and advance the clock then tick.

After every step (see `engine.testing.properties`): every instance is in a declared state and never
left a terminal one; history is append-only, every stored change has its event, and `verify`
passes (hash chains, replay equals the stored instance); stored data fits the field types;
tasks are never released before their dependencies; the process's own `invariants:` hold.
Within steps: a refused call changes nothing (a role refusal only adds its audit event); at
most one transition of a trigger is enabled for the data given; after a tick, every timer due
by then fired exactly once unless its state was left, and none is still due.

A failure raises `InvariantViolation`, whose message holds the steps that led to it as a
scenario in the docs/scenarios.md format; Hypothesis shrinks it to a short one first.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, cast

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ..checking.abstraction import CLOCK
from ..checking.scenario import scenario_yaml
from ..clock.clocks import ManualClock
from ..clock.durations import format_duration
from ..definition.loader import Catalog, load_directory, load_file
from ..errors import DefinitionError, ExecutionError, RoleRefused, UsageError
from ..expressions import CompiledExpr
from ..model import Process
from ..runtime import CompiledProcess, Engine
from ..runtime.definitions import CatalogLike
from ..store import InstanceRecord, open_store
from . import properties as checks
from .strategies import ACTORS, actors, clock_advances, fire_data, start_data

__all__ = ["MAX_INSTANCES", "InvariantViolation", "ProcessMachine", "process_state_machine"]

MAX_INSTANCES = 3  # top-level instances one run starts (their tasks come on top)


class InvariantViolation(AssertionError):
    """A property the engine promises does not hold after a sequence of steps.

    Attributes:
        problems: what does not hold, one sentence each.
        scenario: the steps that led there, as YAML in the scenario-file format.
        steps: the same steps as mappings.
    """

    def __init__(self, process: Process, problems: list[str], steps: list[dict[str, Any]]):
        self.problems = problems
        self.steps = steps
        self.scenario = scenario_yaml(
            {
                "name": _title(problems[0]),
                "clock": CLOCK.isoformat().replace("+00:00", "Z"),
                "steps": steps,
            }
        )
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{process.id}: {len(problems)} problem(s) after {len(steps)} step(s):\n{listed}\n\n"
            f"The steps, as a scenario for processes/{process.id}.scenarios.yaml "
            f"(docs/scenarios.md):\n\n{self.scenario}"
        )


def _title(problem: str) -> str:
    text = f"found by hypothesis: {problem}"
    return text if len(text) <= 100 else text[:97].rsplit(" ", 1)[0] + " ..."


def _json(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _who(actor: str, role: str | None) -> str:
    return f"{actor}:{role or ''}"


class ProcessMachine(RuleBasedStateMachine):
    """The rules and checks; `process_state_machine` makes one subclass per process."""

    process: ClassVar[Process]
    catalog: ClassVar[CatalogLike]
    store_url: ClassVar[str] = "memory://"
    _invariants: ClassVar[dict[tuple[str, int], list[tuple[str, CompiledExpr]]]]

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(CLOCK)
        self.folder = Path(tempfile.mkdtemp(prefix="fulfil-machine-"))
        url = self.store_url
        if url.startswith("sqlite"):  # a fresh file per run: runs must not see each other
            url = f"sqlite:///{self.folder / 'machine.db'}"
        self.store = open_store(url)
        self.engine = Engine(
            self.catalog, store=self.store, clock=self.clock, sheets_dir=self.folder / "sheets"
        )
        self.started: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.world = checks.snapshot(self.store)
        self.checked = self.world

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # helpers ------------------------------------------------------------------------------------
    def compiled(self, record: InstanceRecord) -> CompiledProcess:
        """The compiled definition an instance runs on."""
        process = self.catalog.get(record.process, record.version)
        return self.engine.definitions.compile(process)

    def fail(self, problems: list[str]) -> None:
        """Raise `InvariantViolation` with the steps so far, when there are problems."""
        if problems:
            raise InvariantViolation(self.process, problems, list(self.steps))

    def _act(self, step: dict[str, Any], call: Callable[[], object], target: str | None) -> bool:
        """Run one call, record its step, and check a refusal changed nothing."""
        before = self.world
        self.steps.append(step)
        try:
            call()
        except ExecutionError as exc:
            step["error"] = str(exc) or type(exc).__name__
            self.world = checks.snapshot(self.store)
            self.fail(checks.refusal_problems(before, self.world, target, _audited(exc)))
            return False
        except Exception as exc:
            self.fail([f"the engine raised {type(exc).__name__}: {exc}"])
        self.world = checks.snapshot(self.store)
        return True

    def _targets(self) -> list[str]:
        """The started instances and their tasks (what a scenario step can name), the latest
        started first: a fire then still names the same instance when Hypothesis drops an
        earlier start while shrinking."""
        return sorted(
            (
                iid
                for iid, record in self.world.instances.items()
                if iid in self.started or record.parent in self.started
            ),
            key=lambda iid: (-self.started.index(iid.split(".")[0]), iid),
        )

    def _fire_step(self, iid: str, trigger: str, data: dict[str, Any], who: str) -> dict[str, Any]:
        record = self.world.instances[iid]
        alias, task = (record.parent, record.task) if record.parent else (iid, None)
        step: dict[str, Any] = {"fire": trigger, "as": who}
        if data:
            step["data"] = {k: _json(v) for k, v in data.items()}
        if alias != self.started[-1]:
            step["instance"] = alias
        if task is not None:
            step["task"] = task
        return step

    # rules --------------------------------------------------------------------------------------
    @precondition(lambda self: len(self.started) < MAX_INSTANCES)
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        """Start an instance with valid data, as the initial state's owner."""
        values = data.draw(start_data(self.process), label="start data")
        iid = f"i{len(self.started) + 1}"
        role = self.process.initial.owner
        given = {k: _json(v) for k, v in values.items()}
        step: dict[str, Any] = {"start": {"data": given, "id": iid}, "as": _who(ACTORS[0], role)}

        def call() -> object:
            return self.engine.start(self.process.id, values, id=iid, actor=ACTORS[0], role=role)

        if self._act(step, call, None):
            self.started.append(iid)

    @precondition(lambda self: bool(self.started))
    @rule(data=st.data())
    def fire(self, data: st.DataObject) -> None:
        """Fire a trigger the instance's state has (any trigger when it has none)."""
        self._fire(data, anything=False)

    @precondition(lambda self: bool(self.started))
    @rule(data=st.data())
    def fire_any(self, data: st.DataObject) -> None:
        """Fire any trigger of the process, whether its state has it or not."""
        self._fire(data, anything=True)

    def _fire(self, data: st.DataObject, *, anything: bool) -> None:
        """Fire on an instance or task, with data, as someone; check at most one transition
        of the trigger was enabled."""
        moment = self.clock.now()
        if any(timer.due_at <= moment for timers in self.world.timers.values() for timer in timers):
            # A step set a timer already due (an `at` in the past): the engine fires it before a
            # person's event, as a tick would, so the tick is its own step here and a refusal
            # that follows is checked against the world the timer left.
            self._tick()
        targets = self._targets()
        # The same kind of draw whatever the number of targets, so that dropping a start while
        # shrinking leaves the draws after it aligned.
        iid = targets[data.draw(st.integers(0, 63), label="instance") % len(targets)]
        record = self.world.instances[iid]
        cp = self.compiled(record)
        now = cp.triggers_from.get(record.state, ())
        trigger = data.draw(st.sampled_from(cp.process.triggers if anything or not now else now))
        values = data.draw(fire_data(cp.process, trigger), label="data")
        actor, role = data.draw(actors(cp.process, trigger), label="actor, role")
        enabled = []
        if record.state not in cp.terminal:
            enabled = checks.enabled_transitions(
                cp, record, trigger, values, actor=actor, role=role, now=self.clock.now()
            )
        step = self._fire_step(iid, trigger, values, _who(actor, role))
        self._act(
            step,
            lambda: self.engine.fire(iid, trigger, values, actor=actor, role=role),
            iid,
        )
        how = f"for data {values} as role {role}"
        self.fail(checks.overlap_problem(enabled, trigger, record.state, how))

    @precondition(lambda self: bool(self.started))
    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        """Move the clock forward, then fire every due timer."""
        delta = data.draw(clock_advances(self.process), label="advance")
        self.clock.advance(delta)
        self.steps.append({"advance": format_duration(delta)})
        self._tick()

    def _tick(self) -> None:
        """Fire every timer due at the clock's now, and check what the timers did."""
        before, now = self.world, self.clock.now()
        self.steps.append({"tick": True})
        overlaps = checks.timer_overlaps(before, self.compiled, now)
        try:
            self.engine.tick()
        except Exception as exc:
            self.fail([f"tick raised {type(exc).__name__}: {exc}"])
        self.world = checks.snapshot(self.store)
        self.fail(overlaps + checks.timer_problems(before, self.world, now))

    # checks after every step ----------------------------------------------------------------------
    @invariant()
    def engine_promises(self) -> None:
        """The properties that hold of the whole store after any step."""
        world = self.world
        problems = checks.change_problems(self.checked, world)
        problems += checks.state_problems(world, self.compiled)
        problems += checks.release_problems(world, self.compiled)
        now = self.clock.now()
        for record in world.instances.values():
            cp = self.compiled(record)
            problems += checks.type_problems(cp.process, record)
            invariants = self._user_invariants(cp.process)
            problems += checks.invariant_problems(invariants, cp, record, now)
        if world.instances:
            report = self.engine.verify()
            problems += [f"verify: {p}" for p in report.problems]
        self.checked = world
        self.fail(problems)

    def _user_invariants(self, process: Process) -> list[tuple[str, CompiledExpr]]:
        key = (process.id, process.version)
        cache = type(self)._invariants
        if key not in cache:
            cache[key] = checks.compile_invariants(process)
        return cache[key]


def _audited(exc: ExecutionError) -> bool:
    return isinstance(exc, RoleRefused)


def _load(path: Path, catalog: CatalogLike | None) -> tuple[Process, CatalogLike]:
    process = load_file(path).process
    if catalog is None:
        # The definition's folder, so that the processes its tasks start are found.
        try:
            catalog = load_directory(path.parent)
        except DefinitionError:
            catalog = Catalog((process,))
    return catalog.get(process.id, process.version), catalog


def process_state_machine(
    process_or_path: Process | str | Path,
    *,
    catalog: CatalogLike | None = None,
    store_url: str = "memory://",
) -> type[ProcessMachine]:
    """A `RuleBasedStateMachine` class that runs one process on the engine and checks it.

    Args:
        process_or_path: a loaded process, or the path of its YAML definition.
        catalog: where the engine finds processes (the process's tasks must be in it).
            Default: the definition file's folder, or just the process.
        store_url: `memory://` (default), `sqlite://` (a fresh file in a temporary folder for
            every run), or another store URL, which must be empty at the start of each run.

    Returns:
        A subclass of `ProcessMachine`; its `TestCase` attribute is a test case for pytest or
        unittest, and `hypothesis.stateful.run_state_machine_as_test` runs it with settings.

    Raises:
        DefinitionError: the definition has errors.
        NotFound: the catalog does not hold the process.
        UsageError: the catalog holds another definition under the process's id.
    """
    if isinstance(process_or_path, Process):
        process = process_or_path
        catalog = catalog if catalog is not None else Catalog((process,))
        if catalog.get(process.id, process.version) != process:
            raise UsageError(f"the catalog holds another definition of {process.id}")
    else:
        process, catalog = _load(Path(process_or_path), catalog)
    name = "".join(part.title() for part in process.id.split("_")) + "Machine"
    attributes = {"process": process, "catalog": catalog, "store_url": store_url}
    attributes["_invariants"] = {}
    return cast(type[ProcessMachine], type(name, (ProcessMachine,), attributes))
