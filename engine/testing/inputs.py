"""Scenario steps checked against what each trigger's data may set, when the file is loaded.

A `start` or `fire` step whose data sets a field that no transition of the trigger takes as
`input` (or that `start` does not take) is a located problem at the data's key, unless the step
expects a refusal (`error:`): then it shows the engine refusing that data.
"""

from __future__ import annotations

from ..definition.loader import Catalog
from ..errors import NotFound, Problem
from ..model import Process
from .scenarios import ScenarioFile, ScenarioStep

__all__ = ["input_problems"]


def _accepted(process: Process, step: ScenarioStep) -> tuple[str, ...]:
    if step.kind == "start":
        return process.start_accepts
    fired = [t for t in process.transitions if t.trigger == step.trigger]
    return tuple(dict.fromkeys(name for t in fired for name in process.accepts(t)))


def _target(process: Process, step: ScenarioStep, catalog: Catalog) -> Process | None:
    if step.task is None:
        return process
    task = process.find_task(step.task)
    if task is None:
        return None  # reported when the scenario runs
    try:
        return catalog.get(task.process)
    except NotFound:
        return None


def _step_problems(process: Process, step: ScenarioStep) -> list[Problem]:
    accepted = _accepted(process, step)
    what = "start" if step.kind == "start" else f"'{step.trigger}'"
    problems = []
    for name in step.data or {}:
        if name in accepted or process.find_field(name) is None:
            continue  # unknown fields are the runtime's refusal, with its did-you-mean
        where = step.data_at.get(name, step.location)
        may = ", ".join(accepted) if accepted else "no data"
        problems.append(
            Problem(
                where,
                f"{what} of {process.id} may not set '{name}' (it takes {may}): declare it "
                "in the transition's `input`, or expect the refusal with `error:`",
            )
        )
    return problems


def input_problems(parsed: ScenarioFile, catalog: Catalog) -> list[Problem]:
    """Data in steps not expecting a refusal that sets fields its trigger does not take."""
    process = catalog.get(parsed.process)
    problems: list[Problem] = []
    for scenario in parsed.scenarios:
        for step in scenario.steps:
            if step.kind not in ("start", "fire") or step.error is not None or not step.data:
                continue
            target = _target(process, step, catalog)
            if target is not None:
                problems.extend(_step_problems(target, step))
    return problems
