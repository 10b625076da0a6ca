"""The scenario runner on the `ticket` fixture: passing steps, and each kind of failure."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.runtime import Engine
from fulfil.engine.testing import (
    ScenarioResult,
    load_scenario_file,
    parse_scenarios,
    result_lines,
    run_scenario,
)

FIXTURES = Path(__file__).resolve().parent.parent / "processes" / "scenarios"
CATALOG = load_directory(FIXTURES)
START = "- start: {data: {customer_email: ann@example.com}}\n"
NUDGED = START + "- advance: 2d\n- tick: true\n"
SOLVED = (
    START
    + "- fire: take\n  as: sam:agent\n"
    + "- fire: solve\n  as: sam:agent\n  data: {resolution: Reset}\n"
)


def run(steps: str, *, store: str = "memory") -> ScenarioResult:
    body = textwrap.indent(textwrap.dedent(steps), "      ")
    text = f"process: ticket\nscenarios:\n  - name: the scenario\n    steps:\n{body}"
    parsed = parse_scenarios(text, FIXTURES / "inline.scenarios.yaml")
    return run_scenario(parsed.scenarios[0], CATALOG, store=store)


def failure_text(result: ScenarioResult) -> str:
    assert not result.passed, "the scenario should have failed"
    return "\n".join(result_lines(result))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_fixture_scenario_passes(store: str) -> None:
    """The fixture's scenario, using every kind of step and expectation, passes on both stores."""
    parsed = load_scenario_file(FIXTURES / "ticket.scenarios.yaml")
    result = run_scenario(parsed.scenarios[0], CATALOG, store=store)
    assert result.passed, "\n".join(result_lines(result))
    assert result.instances == {"ann": "ann"} and result.current == "ann"


@pytest.mark.parametrize(
    ("steps", "expected", "found"),
    [
        (START + "- expect: {state: working}", "state == working", "state == open"),
        (START + "- expect: {status: Closed}", "status == Closed", "status == New"),
        (START + "- expect: {closure_reason: Complete}", "closure_reason == Complete", "''"),
        (START + "- expect: {fields: {attempts: 3}}", "fields.attempts == 3", "attempts == 0"),
        (START + "- expect: {fields: {attempt: 0}}", "fields.attempt", "did you mean 'attempts'"),
        (SOLVED + "- expect: {fields_contain: {log: Given}}", "log has Given", "Taken by"),
        (START + "- expect: {triggers: [solve]}", "triggers include [solve]", "[take]"),
        (
            START + "- expect: {triggers_exact: [nudge, take]}",
            "triggers_exact == [nudge, take]",
            "[take]",
        ),
        (START + "- expect: {timers: []}", "timers == []", "timers == [nudge]"),
        (START + "- expect: {history_length: 3}", "history_length == 3", "history_length == 1"),
        (START + "- expect: {outbox_count: 1}", "outbox_count == 1", "outbox_count == 0"),
        (START + "- expect: {outbox: [{to: x@example.com}]}", "1 new message", "0: none"),
        (NUDGED + "- expect: {outbox: []}", "0 new messages", "lead@example.com"),
        (
            NUDGED + "- expect: {outbox: [{to: [x@example.com]}]}",
            "outbox[0].to == [x@example.com]",
            "to == [lead@example.com]",
        ),
        (
            NUDGED + "- expect: {outbox: [{to: x@example.com}]}",
            "outbox[0].to includes x@example.com",
            "to == [lead@example.com]",
        ),
        (
            NUDGED + "- expect: {outbox: [{cc: [x@example.com]}]}",
            "outbox[0].cc == [x@example.com]",
            "cc == []",
        ),
        (NUDGED + "- expect: {outbox: [{channel: sms}]}", "channel == sms", "channel == email"),
        (
            NUDGED + "- expect: {outbox: [{subject_contains: Solved}]}",
            "outbox[0].subject contains Solved",
            "Ticket of ann@example.com waits",
        ),
        (
            NUDGED + "- expect: {outbox: [{body_contains: [Nobody, Hello]}]}",
            "outbox[0].body contains Hello",
            "Nobody took it",
        ),
        (
            NUDGED + "- expect: {outbox: [{attachment: {columns: [a]}}]}",
            "outbox[0].attachment",
            "the message has no attachment",
        ),
        (
            START + "- expect: {sheets: {solved_tickets: [{Customer: ann@example.com}]}}",
            "sheets.solved_tickets: 1 rows",
            "0 rows",
        ),
        (
            SOLVED + "- expect: {sheets: {solved_tickets: [{Resolution: Other}]}}",
            "sheets.solved_tickets[0].Resolution == Other",
            "Resolution == Reset",
        ),
        (
            SOLVED + "- expect: {sheets: {solved_tickets: [{Notes: x}]}}",
            "sheets.solved_tickets[0].Notes",
            "no column 'Notes'",
        ),
        (
            START + "- expect: {children: {review: {state: open}}}",
            "a child task 'review'",
            "children: []",
        ),
    ],
)
def test_each_expectation_fails_with_expected_and_found(
    steps: str, expected: str, found: str
) -> None:
    """A failing expectation reports the step, what was expected and what was found."""
    text = failure_text(run(steps))
    expected_line = next(line for line in text.splitlines() if line.startswith("  expected:"))
    found_line = next(line for line in text.splitlines() if line.startswith("  found:"))
    assert expected in expected_line, text
    assert found in found_line, text


def test_outbox_expectation_sees_only_messages_since_the_previous_one() -> None:
    """`outbox` lists the messages queued since the previous outbox expectation, in order."""
    result = run(
        NUDGED
        + "- expect: {outbox: [{to: lead@example.com}]}\n"
        + "- fire: take\n  as: sam:agent\n"
        + "- fire: solve\n  as: sam:agent\n  data: {resolution: Reset}\n"
        + "- expect: {outbox: [{to: ann@example.com}], outbox_count: 2}\n"
    )
    assert result.passed, "\n".join(result_lines(result))


def test_failure_report_names_step_location_and_text() -> None:
    """The report gives FILE:LINE:COL and number of the failing step and the step as written."""
    lines = result_lines(run(START + "- tick: true\n- expect: {state: working}  # wrong\n"))
    assert lines[0] == "FAIL ticket :: the scenario"
    assert lines[1] == f"  {FIXTURES / 'inline.scenarios.yaml'}:7:9: step 3"
    assert lines[2] == "    - expect: {state: working}  # wrong"


def test_first_failing_step_stops_the_scenario() -> None:
    """Steps after the first failing one are not run."""
    result = run(START + "- expect: {state: working}\n- fire: take\n  as: sam:agent\n")
    assert result.failure is not None and result.failure.step.number == 2
    assert len(result.failure.mismatches) == 1


def test_all_mismatches_of_a_step_are_reported() -> None:
    """An expect step reports every key that does not hold, not only the first."""
    result = run(START + "- expect: {state: working, status: Closed, outbox_count: 4}")
    assert result.failure is not None and len(result.failure.mismatches) == 3


def test_expected_refusal_passes_when_refused_with_the_text() -> None:
    """`error:` passes when the call is refused with a message containing the text."""
    result = run(
        START
        + "- fire: take\n  as: sam:agent\n"
        + "- fire: solve\n  as: sam:agent\n  error: RESOLUTION\n"
        + "- fire: solve\n  as: bob:lead\n  data: {resolution: x}\n  error: role\n"
        + "- start: {data: {}}\n  error: customer_email\n"
        + "- expect: {state: working}\n"
    )
    assert result.passed, "\n".join(result_lines(result))


def test_expected_refusal_that_succeeds_fails() -> None:
    """A fire expected to be refused that fires is a failure saying where the instance went."""
    text = failure_text(run(START + "- fire: take\n  as: sam:agent\n  error: not allowed\n"))
    assert "expected: fire take is refused with a message containing 'not allowed'" in text
    assert "found:    it fired: i1 is now in working (In Progress)" in text


def test_expected_refused_start_that_succeeds_fails() -> None:
    """A start expected to be refused that starts is a failure."""
    text = failure_text(run(START + "- start: {data: {customer_email: b@example.com}}\n  error: x"))
    assert "found:    the start succeeded" in text


def test_refusal_with_another_message_fails() -> None:
    """A refusal whose message lacks the expected text fails and shows the real message."""
    text = failure_text(run(START + "- fire: solve\n  as: sam:agent\n  error: resolution\n"))
    assert "expected: fire solve is refused with a message containing 'resolution'" in text
    assert "found:    refused:" in text and "solve" in text


def test_unexpected_refusal_fails_with_the_message() -> None:
    """A refused fire without `error:` fails, showing the refusal."""
    text = failure_text(run(START + "- fire: take\n  as: bob:lead\n"))
    assert "expected: fire take succeeds" in text
    assert "found:    refused:" in text


def test_instances_are_named_and_targeted() -> None:
    """`start.id` names an instance, `i2` is the default second name, `instance:` targets one."""
    result = run(
        "- start: {data: {customer_email: a@example.com}, id: ann}\n"
        + "- start: {data: {customer_email: b@example.com}}\n"
        + "- fire: take\n  instance: ann\n  as: sam:agent\n"
        + "- expect: {instance: ann, state: working}\n"
        + "- expect: {instance: i2, state: open}\n"
        + "- expect: {state: open}\n"
    )
    assert result.passed, "\n".join(result_lines(result))
    assert result.instances == {"ann": "ann", "i2": "i2"} and result.current == "i2"


def test_clock_cannot_go_back() -> None:
    """An `at` step earlier than the clock fails the scenario."""
    text = failure_text(run(START + "- at: 2026-01-01T00:00:00Z\n"))
    assert "expected: the clock moves to 2026-01-01T00:00:00+00:00" in text
    assert "backwards" in text


def test_timers_fire_only_on_tick() -> None:
    """Advancing the clock fires nothing; `tick` fires what is due."""
    result = run(
        START + "- advance: 3d\n- expect: {outbox_count: 0}\n- tick: true\n"
        "- expect: {outbox_count: 1}\n"
    )
    assert result.passed, "\n".join(result_lines(result))


def test_engine_crash_fails_the_scenario_and_keeps_the_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception that is not a refusal fails the scenario; the exception is kept."""

    def broken(self: Engine, now: object = None) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(Engine, "tick", broken)
    result = run(START + "- tick: true\n")
    assert result.failure is not None and isinstance(result.failure.error, RuntimeError)
    assert "found:    RuntimeError: boom" in failure_text(result)
