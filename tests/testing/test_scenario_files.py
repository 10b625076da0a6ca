"""Reading scenario files: typed steps, defaults, and located errors for malformed files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fulfil.engine import testing
from fulfil.engine.errors import DefinitionError
from fulfil.engine.runtime.step import Step as RuntimeStep
from fulfil.engine.testing import DEFAULT_CLOCK, ScenarioStep, parse_scenarios

HEAD = "process: ticket\nscenarios:\n  - name: one\n    steps:\n"


def problems(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_scenarios(text, "s.scenarios.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_scenario_step_is_a_scenario_step_under_its_old_name_too() -> None:
    """A scenario's steps are `ScenarioStep`s, not the runtime's `Step`; `Step`, exported
    before, still names them."""
    parsed = parse_scenarios(HEAD + "      - tick: true\n", "s.scenarios.yaml")
    (step,) = parsed.scenarios[0].steps
    assert isinstance(step, ScenarioStep) and not isinstance(step, RuntimeStep)
    assert testing.Step is ScenarioStep
    assert {"ScenarioStep", "Step"} <= set(testing.__all__)


def test_steps_are_typed_with_defaults() -> None:
    """Steps carry their kind, number, location and values; unsaid options take defaults."""
    parsed = parse_scenarios(
        HEAD
        + "      - start: {data: {customer_email: a@example.com}}\n"
        + "      - fire: take\n        as: 'sam:agent'\n        data: {x: 1}\n"
        + "      - fire: nudge\n        as: 'bob:'\n"
        + "      - advance: 1d12h\n"
        + "      - at: 2026-02-01T10:00:00+01:00\n"
        + "      - tick: true\n"
        + "      - expect:\n          instance: i1\n          task: review\n          state: open\n"
        + "        # about the next step\n"
        + "      - tick: true\n",
        "s.scenarios.yaml",
    )
    assert parsed.process == "ticket"
    scenario = parsed.scenarios[0]
    assert scenario.clock == DEFAULT_CLOCK and not scenario.demo
    start, fire, nudge, advance, at, tick, expect, _ = scenario.steps
    assert (start.kind, start.alias, start.actor, start.role) == ("start", "i1", "scenario", None)
    assert (fire.trigger, fire.actor, fire.role, fire.data) == ("take", "sam", "agent", {"x": 1})
    assert (nudge.actor, nudge.role) == ("bob", None)
    assert advance.delta == timedelta(days=1, hours=12)
    assert at.moment == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    assert tick.kind == "tick" and tick.number == 6
    assert (expect.instance, expect.task, dict(expect.checks)) == (
        "i1",
        "review",
        {"state": "open"},
    )
    assert str(fire.location) == "s.scenarios.yaml:6:9"
    assert expect.text == "expect:\n  instance: i1\n  task: review\n  state: open"
    assert fire.text == "fire: take\nas: 'sam:agent'\ndata: {x: 1}"


def test_demo_flag_and_clock_are_read() -> None:
    """A scenario's `clock` and `demo: true` are read."""
    text = HEAD.replace("    steps:", "    clock: 2026-03-02T08:00:00Z\n    demo: true\n    steps:")
    parsed = parse_scenarios(text + "      - tick: true\n")
    assert parsed.scenarios[0].demo
    assert parsed.scenarios[0].clock == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "      - expct: {state: open}\n",
            "s.scenarios.yaml:5:9: error: a step has exactly one of",
        ),
        ("      - tick: true\n        advance: 1d\n", "5:9: error: a step has exactly one of"),
        ("      - advance: 7 days\n", "5:18: error: bad duration '7 days'"),
        ("      - at: 2026-01-12T09:00:00\n", "5:13: error: '2026-01-12T09:00:00' is not a time"),
        ("      - tick: yes\n", "5:15: error: write 'tick: true'"),
        ("      - fire: take\n", "5:9: error: this step acts on an instance, but none was"),
        (
            "      - start: {data: {}}\n      - fire: take\n        as: ':agent'\n",
            "7:13: error: 'as' is actor:role",
        ),
        (
            "      - start: {data: {}}\n      - fire: take\n        instance: ann\n",
            "7:19: error: no instance 'ann' was started before this step",
        ),
        (
            "      - start: {data: {}}\n      - expect: {stat: open}\n",
            "6:18: error: unknown key 'stat' (did you mean 'state'?)",
        ),
        (
            "      - start: {data: {}}\n      - expect: {state: open}\n        instance: i1\n",
            "7:9: error: unknown key 'instance' in an expect step (write 'instance' inside",
        ),
        (
            "      - expect: {outbox: [{to: a@b.c, subjet: x}]}\n",
            "5:39: error: unknown key 'subjet' (expected one of: attachment, body_contains",
        ),
        ("      - expect: {outbox_count: many}\n", "5:32: error: 'outbox_count' must be a whole"),
        (
            "      - fire: take\n        as: 'a:b'\n        dat: {}\n",
            "7:9: error: unknown key 'dat'",
        ),
        ("      - start: {data: [1]}\n", "5:23: error: data must be a mapping"),
        (
            "      - start: {data: {}, id: a}\n      - start: {data: {}, id: a}\n",
            "6:31: error: instance 'a' is already started",
        ),
    ],
)
def test_malformed_step_is_located(steps: str, expected: str) -> None:
    """Each kind of malformed step is reported at its line and column with a helpful message."""
    found = problems(HEAD + steps)
    assert any(expected in line for line in found), found


def test_malformed_file_level_problems_are_located() -> None:
    """A missing process, an unknown top key and duplicate scenario names are located."""
    text = (
        "proces: ticket\nscenarios:\n"
        "  - name: one\n    steps: [{tick: true}]\n"
        "  - name: one\n    steps: [{tick: true}]\n"
    )
    found = problems(text)
    assert "s.scenarios.yaml:1:1: error: unknown key 'proces' (did you mean 'process'?)" in found
    assert any("'process' must name the process" in line for line in found)
    assert any(
        line.startswith("s.scenarios.yaml:5:11: error: duplicate scenario name") for line in found
    )


def test_every_problem_is_reported_at_once() -> None:
    """All the problems of a file are reported, not only the first."""
    found = problems(HEAD + "      - advance: soon\n      - at: tomorrow\n      - tick: 1\n")
    assert len(found) == 3


def test_yaml_syntax_error_is_located() -> None:
    """A YAML syntax error is a located DefinitionError too."""
    found = problems("process: ticket\nscenarios: [\n")
    assert found == [
        "s.scenarios.yaml:2:12: error: the list opened here with `[` is never closed: "
        "add `]` at its end (reading stopped at line 3, column 1)"
    ]


def test_empty_steps_and_scenarios_are_refused() -> None:
    """A scenario needs steps and a file needs scenarios."""
    assert any("'scenarios' must be a non-empty list" in p for p in problems("process: t\n"))
    found = problems("process: t\nscenarios:\n  - name: x\n    steps: []\n")
    assert any("s.scenarios.yaml:4:12: error: 'steps' must be a non-empty list" in p for p in found)
