"""Testing processes: executable scenario files (docs/scenarios.md) and their runner.

    load_scenario_file    a `*.scenarios.yaml` file -> ScenarioFile (errors with FILE:LINE:COL)
    run_scenario          one scenario on a fresh store -> ScenarioResult
    run_file              a scenario file as a suite -> FileReport
    result_lines          the text `fulfil test` prints (summary_line: `N passed, M failed`)

Other modules of this package (such as Hypothesis strategies) are imported from their own
module, never from here, so that importing `engine.testing` stays light.
"""

from __future__ import annotations

from engine.testing.expectations import Mismatch
from engine.testing.runner import (
    STORES,
    ScenarioResult,
    ScenarioRun,
    StepFailure,
    fresh_store,
    run_scenario,
)
from engine.testing.scenarios import (
    DEFAULT_CLOCK,
    Scenario,
    ScenarioFile,
    Step,
    load_scenario_file,
    parse_scenarios,
    scenario_files,
)
from engine.testing.suite import (
    Catalogs,
    FileReport,
    expand_paths,
    load_for,
    result_lines,
    run_file,
    run_suite,
    summary_line,
)

__all__ = [
    "DEFAULT_CLOCK",
    "STORES",
    "Catalogs",
    "FileReport",
    "Mismatch",
    "Scenario",
    "ScenarioFile",
    "ScenarioResult",
    "ScenarioRun",
    "Step",
    "StepFailure",
    "expand_paths",
    "fresh_store",
    "load_for",
    "load_scenario_file",
    "parse_scenarios",
    "result_lines",
    "run_file",
    "run_scenario",
    "run_suite",
    "scenario_files",
    "summary_line",
]
