"""Every scenario of every `processes/*.scenarios.yaml`, one test each (ids `process::scenario`).

A scenario that fails shows the same report as `fulfil test`; one whose step crashed the engine
re-raises the engine's exception, so its traceback is shown.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.definition.loader import Catalog
from fulfil.engine.errors import DefinitionError
from fulfil.engine.testing import (
    Catalogs,
    ScenarioFile,
    load_for,
    load_scenario_file,
    result_lines,
    run_scenario,
    scenario_files,
)

PROCESSES = Path(__file__).resolve().parent.parent / "processes"
CATALOGS = Catalogs()


def cases() -> Iterator[Any]:
    for path in scenario_files(PROCESSES):
        try:
            parsed = load_scenario_file(path)
        except DefinitionError as exc:
            problems = "\n".join(str(p) for p in exc.problems)
            yield pytest.param(path, "", problems, id=f"{path.name}::malformed")
            continue
        for scenario in parsed.scenarios:
            yield pytest.param(path, scenario.name, "", id=f"{parsed.process}::{scenario.name}")


@functools.cache
def loaded(path: Path) -> tuple[ScenarioFile, Catalog]:
    return load_for(path, CATALOGS)


@pytest.mark.parametrize(("path", "name", "problems"), list(cases()))
def test_scenario(path: Path, name: str, problems: str) -> None:
    """The scenario holds: each step runs and each expectation is met, on a fresh store."""
    if problems:
        pytest.fail(problems, pytrace=False)
    try:
        parsed, catalog = loaded(path)
    except DefinitionError as exc:
        pytest.fail("\n".join(str(p) for p in exc.problems), pytrace=False)
    scenario = next(s for s in parsed.scenarios if s.name == name)
    result = run_scenario(scenario, catalog, people=CATALOGS.people_for(path.parent))
    if result.failure is not None and result.failure.error is not None:
        raise result.failure.error
    if not result.passed:
        pytest.fail("\n".join(result_lines(result)), pytrace=False)
