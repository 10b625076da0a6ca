"""The state machine factory on every shipped process, and on definitions with planted bugs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fulfil.engine.checking.abstraction import CLOCK
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, definition_files, load_directory, load_text
from fulfil.engine.model import Process
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store
from fulfil.engine.testing import parse_scenarios, run_scenario
from fulfil.engine.testing.stateful import InvariantViolation, ProcessMachine, process_state_machine
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
CATALOG = load_directory(PROCESSES)
CHILDREN = Path(__file__).resolve().parents[1] / "processes" / "children"

OVERLAP = """
id: planted_overlap
version: 1
roles:
  agent: {title: Agent}
fields:
  amount: {type: int, required: true}
states:
  open: {initial: true, status: Open}
  small: {terminal: true, status: Small}
  large: {terminal: true, status: Large}
transitions:
  - {trigger: decide, source: open, dest: small, guard: "amount <= 100", roles: [agent],
     input: [amount]}
  - {trigger: decide, source: open, dest: large, guard: "amount >= 100", roles: [agent],
     input: [amount]}
"""

TRAP = """
id: planted_trap
version: 1
roles:
  agent: {title: Agent}
fields:
  note: {type: string}
states:
  open: {initial: true, status: Open}
  on_hold:
    status: On Hold
    timers:
      - {name: give_up, after: 3d, trigger: give_up}
  abandoned: {terminal: true, status: Abandoned}
  done: {terminal: true, status: Done}
transitions:
  - {trigger: hold, source: open, dest: on_hold, roles: [agent]}
  - {trigger: resume, source: on_hold, dest: open, roles: [agent]}
  - {trigger: finish, source: [open, on_hold], dest: done, roles: [agent]}
  - {trigger: give_up, source: on_hold, dest: abandoned}
invariants:
  never_abandoned: "state != 'abandoned'"
"""


def bounded() -> settings:
    """The current profile, with a quarter of its examples per process (the file has 12)."""
    return settings(settings.default, max_examples=max(10, settings.default.max_examples // 4))


def hunting() -> settings:
    """Settings to find and shrink a planted bug: enough examples, a fixed seed, no example
    database, and no explain phase (it replays the shrunk run hundreds of times: ~45 s here)."""
    return settings(
        settings.default,
        max_examples=300,
        database=None,
        derandomize=True,  # the same search each run (120 random-seed runs all shrank to minimal)
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def planted(text: str) -> Process:
    return load_text(text, "<planted>").process


def violation(process: Process) -> InvariantViolation:
    with pytest.raises(InvariantViolation) as caught:
        run_state_machine_as_test(process_state_machine(process), settings=hunting())
    return caught.value


def shape(steps: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Each step as (kind, what): ("start", None), ("fire", trigger), ("advance", "3d")..."""
    out = []
    for step in steps:
        kind = next(iter(step))
        out.append((kind, None if kind == "start" else step[kind]))
    return out


def replays(process: Process, scenario: str) -> None:
    """The printed scenario is a valid scenario file entry and runs as recorded."""
    text = f"process: {process.id}\nscenarios:\n" + scenario
    parsed = parse_scenarios(text, Path("<printed>.scenarios.yaml"))
    result = run_scenario(parsed.scenarios[0], Catalog((process,)))
    assert result.passed, result.failure


@pytest.mark.parametrize("path", definition_files(PROCESSES), ids=lambda p: p.stem)
def test_shipped_process_keeps_the_engine_promises(path: Path) -> None:
    """Random starts, fires and clock moves on each shipped process break no property."""
    machine = process_state_machine(path, catalog=CATALOG)
    run_state_machine_as_test(machine, settings=bounded())


def test_factory_reads_a_path_with_its_folder_as_catalog() -> None:
    """A path is loaded with its folder, so a request's task processes are found."""
    machine = process_state_machine(PROCESSES / "pdm_outreach.yaml")
    assert issubclass(machine, RuleBasedStateMachine) and issubclass(machine, ProcessMachine)
    assert machine.process.id == "pdm_outreach"
    assert machine.catalog.get("outreach_call_task").id == "outreach_call_task"
    assert machine.__name__ == "PdmOutreachMachine" and machine.TestCase is not None


def test_factory_runs_on_sqlite() -> None:
    """`sqlite://` gives each run a fresh database file."""
    machine = process_state_machine(PROCESSES / "facebook_access.yaml", store_url="sqlite://")
    run_state_machine_as_test(
        machine, settings=settings(settings.default, max_examples=5, stateful_step_count=10)
    )


def test_overlapping_guards_are_found_with_the_two_steps_that_show_them() -> None:
    """Guards both true at amount 100 shrink to: start with amount 100, fire decide."""
    process = planted(OVERLAP)
    found = violation(process)
    assert "2 transitions of 'decide' from 'open' are enabled at once" in found.problems[0]
    assert shape(found.steps) == [("start", None), ("fire", "decide")]
    start, fire = found.steps
    given = {**start["start"]["data"], **fire.get("data", {})}
    assert given["amount"] == 100 and fire["as"].endswith(":agent")
    assert "decide" in found.scenario and "found by hypothesis" in str(found)
    replays(process, found.scenario)


def test_trap_state_is_found_with_the_minimal_sequence() -> None:
    """A state the invariant forbids, reached by hold then the 3-day timer, shrinks to those."""
    process = planted(TRAP)
    found = violation(process)
    assert "invariant 'never_abandoned'" in found.problems[0]
    expected = [("start", None), ("fire", "hold"), ("advance", "3d"), ("tick", True)]
    assert shape(found.steps) == expected
    assert yaml.safe_load(found.scenario)[0]["steps"] == found.steps
    replays(process, found.scenario)


@pytest.mark.parametrize("process_id", ["pdm_request", "step_task"])
def test_request_fixtures_keep_the_engine_promises(process_id: str) -> None:
    """The runtime's request fixtures (tasks with dependencies and rules) break no property."""
    catalog = load_directory(CHILDREN)
    machine = process_state_machine(catalog.get(process_id), catalog=catalog)
    run_state_machine_as_test(machine, settings=bounded())


@pytest.mark.parametrize("process_id", ["chain"])
def test_a_request_whose_tasks_append_to_it_verifies_after_its_rules(process_id: str) -> None:
    """Found by the state machine on tests/processes/children/chain.yaml, shrunk to: start,
    fire failed_once (its emit closes the three tasks, each appending to the request's `log`);
    the request now declares `log`, and replaying its history gives the stored instance."""
    catalog = load_directory(CHILDREN)
    engine = Engine(catalog, store=open_store("memory://"), clock=ManualClock(CLOCK))
    engine.start(process_id, {"client": "Acme"}, id="i1")
    engine.fire("i1", "failed_once", actor="lee", role="lead")
    report = engine.verify()
    assert report.ok, report.problems
    assert engine.show("i1").data["log"].count("closed by the request") == 3
