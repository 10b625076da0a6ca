"""Testing processes: executable scenario files (docs/scenarios.md) and their runner.

    load_scenario_file    a `*.scenarios.yaml` file -> ScenarioFile (errors with FILE:LINE:COL)
    run_scenario          one scenario on a fresh store -> ScenarioResult
    run_file              a scenario file as a suite -> FileReport
    result_lines          the text `fulfil test` prints (summary_line: `N passed, M failed`)

Property-based testing (docs/testing.md), loaded on first use because it needs Hypothesis:

    process_state_machine  any definition -> a Hypothesis RuleBasedStateMachine (machine.py)
    InvariantViolation     what it raises, with the steps as a scenario
    field_values, start_data, fire_data, actors, clock_advances, event_sequences
                           Hypothesis strategies for a process (strategies.py)

Importing `engine.testing` itself stays light: those names import Hypothesis only when read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import names_from
from .expectations import Mismatch
from .runner import STORES, ScenarioResult, ScenarioRun, StepFailure, fresh_store, run_scenario
from .scenarios import (
    DEFAULT_CLOCK,
    Scenario,
    ScenarioFile,
    ScenarioStep,
    load_scenario_file,
    parse_scenarios,
    scenario_files,
)
from .suite import (
    Catalogs,
    FileReport,
    expand_paths,
    load_for,
    result_lines,
    run_file,
    run_suite,
    summary_line,
)

#: The former name of `ScenarioStep`, kept because it was exported (the runtime has its own
#: `Step`, one event's work, in `engine.runtime.step`).
Step = ScenarioStep

if TYPE_CHECKING:
    from .stateful import InvariantViolation, process_state_machine
    from .strategies import (
        actors,
        clock_advances,
        event_sequences,
        field_values,
        fire_data,
        start_data,
    )

_LAZY = {
    "InvariantViolation": "stateful",
    "process_state_machine": "stateful",
    "actors": "strategies",
    "clock_advances": "strategies",
    "event_sequences": "strategies",
    "field_values": "strategies",
    "fire_data": "strategies",
    "start_data": "strategies",
}


# the property-testing names, imported (with Hypothesis) when first read
__getattr__ = names_from(__name__, _LAZY)


__all__ = [
    "DEFAULT_CLOCK",
    "STORES",
    "Catalogs",
    "FileReport",
    "InvariantViolation",
    "Mismatch",
    "Scenario",
    "ScenarioFile",
    "ScenarioResult",
    "ScenarioRun",
    "ScenarioStep",
    "Step",
    "StepFailure",
    "actors",
    "clock_advances",
    "event_sequences",
    "expand_paths",
    "field_values",
    "fire_data",
    "fresh_store",
    "load_for",
    "load_scenario_file",
    "parse_scenarios",
    "process_state_machine",
    "result_lines",
    "run_file",
    "run_scenario",
    "run_suite",
    "scenario_files",
    "start_data",
    "summary_line",
]
