"""`explore`: planted bugs are found with their shortest scenario; clean definitions are clean."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fulfil.engine.checking import explore
from fulfil.engine.definition.loader import load_directory, load_file, load_text

FOLDER = Path(__file__).parents[1] / "processes" / "checking"
SHIPPED = Path(__file__).parents[2] / "processes"
AGENT = "checker:agent"


def check(name: str, depth: int = 8):  # type: ignore[no-untyped-def]
    return explore(load_file(FOLDER / f"{name}.yaml").process, depth=depth)


def test_overlapping_guards_are_found_with_the_shortest_sequence() -> None:
    """`attempt < 3` and `attempt > 1` on one trigger overlap at attempt 2, three calls in."""
    report = check("overlap")
    assert [f.kind for f in report.findings] == ["guard_overlap"]
    finding = report.findings[0]
    assert (finding.location.line, finding.location.column) == (20, 5)
    assert "attempt=2" in finding.message
    assert finding.scenario is not None
    assert finding.scenario["steps"] == [
        {"start": {"data": {}}, "as": AGENT},
        {"fire": "call", "as": AGENT},
        {"fire": "call", "as": AGENT},
        {"fire": "call", "as": AGENT},
        {"expect": {"state": "calling"}},
    ]


def test_a_data_level_trap_is_found_where_it_starts() -> None:
    """A state whose only exit needs a count its loop never reaches is reported as a trap."""
    report = check("stuck")
    traps = [f for f in report.findings if f.kind == "trap"]
    assert len(traps) == 1
    assert "'chasing'" in traps[0].message
    assert traps[0].location.line == 11
    assert traps[0].scenario is not None
    assert traps[0].scenario["steps"] == [
        {"start": {"data": {}}, "as": AGENT},
        {"fire": "submit", "as": AGENT},
        {"expect": {"state": "chasing", "fields": {"reminders": 0}}},
    ]
    silent = [f for f in report.findings if f.kind == "never_fires"]
    assert [f.location.line for f in silent] == [25]  # give_up


def test_a_clean_definition_has_no_findings() -> None:
    """Exclusive guards, a timer and a holding invariant: nothing to report, all explored."""
    report = check("clean")
    assert report.findings == ()
    assert report.exhausted
    assert report.ok


def test_invariant_violation_and_its_scenario() -> None:
    """An invariant false after two calls is reported with the two calls and the values."""
    text = (FOLDER / "clean.yaml").read_text().replace("attempt <= 3", "attempt < 2")
    report = explore(load_text(text, "clean.yaml").process)
    found = [f for f in report.findings if f.kind == "invariant"]
    assert len(found) == 1
    assert "at_most_three_attempts" in found[0].message
    assert found[0].scenario is not None
    assert found[0].scenario["steps"] == [
        {"start": {"data": {"client": "sample"}}, "as": AGENT},
        {"fire": "begin", "as": AGENT},
        {"fire": "log_call", "as": AGENT, "data": {"outcome": "no_answer"}},
        {"advance": "2d"},
        {"tick": True},
        {"fire": "log_call", "as": AGENT},
        {"expect": {"state": "waiting", "fields": {"attempt": 2}}},
    ]


def test_a_pre_empted_timer_is_reported_with_time_passing() -> None:
    """`nudge` (5d) never fires after `expire` (3d); the scenario lets two 7-day timers pass.
    Its transition names no roles, so nobody may fire it by hand either: it never fires."""
    report = check("chain")
    assert [f.kind for f in report.findings] == ["never_fires", "timer_never_fires"]
    assert "'nudge'" in report.findings[0].message
    finding = report.findings[1]
    assert "'expire'" in finding.message
    assert finding.scenario is not None
    assert finding.scenario["steps"] == [
        {"start": {"data": {}}, "as": AGENT},
        {"advance": "7d"},
        {"tick": True},
        {"advance": "7d"},
        {"tick": True},
        {"expect": {"state": "escalated"}},
    ]


def test_depth_bounds_the_exploration() -> None:
    """At depth 1 the overlap (three calls deep) is out of reach and the search is not complete."""
    report = check("overlap", depth=1)
    assert report.findings[0].kind == "never_fires"
    assert not report.exhausted
    assert "within 1 events" in report.findings[0].message


def test_an_expression_failing_at_run_time_is_an_error_finding() -> None:
    """Arithmetic on a field that is unset in a reachable configuration is reported."""
    text = (FOLDER / "overlap.yaml").read_text()
    text = text.replace("attempt: {type: int, default: 0}", "attempt: {type: int}")
    text = text.replace("attempt < 3", "not (attempt >= 3)")
    report = explore(load_text(text, "overlap.yaml").process)
    errors = [f for f in report.findings if f.kind == "error"]
    assert len(errors) == 1
    assert "`attempt + 1`" in errors[0].message and "not set" in errors[0].message
    assert errors[0].location.line == 13
    assert errors[0].scenario is not None
    assert errors[0].scenario["steps"] == [
        {"start": {"data": {}}, "as": AGENT},
        {"fire": "call", "as": AGENT},
    ]


@pytest.mark.parametrize("process_id", load_directory(SHIPPED).ids)
def test_every_shipped_process_checks_clean_and_fast(process_id: str) -> None:
    """Each shipped definition checks at the depth chosen from it (8, its main path's length
    when longer) in a few CPU seconds, with no findings."""
    process = load_directory(SHIPPED).get(process_id)
    # CPU time, not wall time: other processes on a loaded machine must not fail this test.
    began = time.process_time()
    report = explore(process, depth=None)
    assert time.process_time() - began < 5
    assert [f.lines()[0] for f in report.findings] == []


NUDGED = """
id: nudged
version: 1
roles:
  clerk: {title: Clerk}
fields:
  nudges: {type: int, default: 0}
states:
  waiting:
    initial: true
    timers:
      - {name: nudge, WHEN, trigger: nudge}
  done:
    terminal: true
transitions:
  - trigger: nudge
    source: waiting
    guard: "not is_set(role)"   # only the timer fires it
    actions:
      - set: {nudges: "nudges + 1"}
  - trigger: finish
    source: waiting
    dest: done
invariants:
  nudged_once: "nudges <= 1"
"""


def test_a_timer_firing_an_internal_transition_is_spent() -> None:
    """A one-shot timer firing an internal transition fires once: the invariant holds."""
    report = explore(load_text(NUDGED.replace("WHEN", "after: 1d"), "nudged.yaml").process)
    assert [f.kind for f in report.findings] == []
    assert report.exhausted


def test_a_recurring_timer_on_an_internal_transition_fires_again() -> None:
    """A daily timer firing an internal transition is armed again: a second nudge breaks it."""
    when = "every: {every: daily, at: '08:00'}"
    report = explore(load_text(NUDGED.replace("WHEN", when), "nudged.yaml").process)
    found = [f for f in report.findings if f.kind == "invariant"]
    assert len(found) == 1
    assert found[0].scenario is not None
    assert [s for s in found[0].scenario["steps"] if "tick" in s] == [{"tick": True}] * 2


def test_an_internal_transition_that_never_fires_says_so() -> None:
    """A silent internal transition is named without a destination, not `to 'None'`."""
    text = NUDGED.replace("WHEN", "after: 1d").replace(
        'guard: "not is_set(role)"', 'guard: "nudges > 5 and not is_set(role)"'
    )
    report = explore(load_text(text, "nudged.yaml").process)
    (silent,) = [f for f in report.findings if f.kind == "never_fires"]
    assert silent.message.startswith("'nudge' from waiting (internal) never fires")


def test_overlapping_internal_transitions_stay_in_their_state() -> None:
    """An overlap between internal transitions expects the state they stay in, not None."""
    text = NUDGED.replace("WHEN", "after: 1d").replace(
        "  - trigger: finish",
        '  - trigger: nudge\n    source: waiting\n    guard: "nudges < 5"\n  - trigger: finish',
    )
    report = explore(load_text(text, "nudged.yaml").process)
    (overlap,) = [f for f in report.findings if f.kind == "guard_overlap"]
    assert "going to 'waiting' instead of 'waiting'" in overlap.message
    assert overlap.scenario is not None
    assert overlap.scenario["steps"][-1] == {"expect": {"state": "waiting"}}


def test_the_depth_chosen_covers_retention_as_the_hand_given_10_did() -> None:
    """retention's main path is 10 events (the forward and the Planner Sheet cannot be
    skipped): at 8 some transitions never fire; the chosen depth goes on to 10, the same
    search as `--depth 10`, and says so."""
    retention = load_directory(SHIPPED).get("retention")
    shallow = explore(retention, depth=8)
    assert any(f.kind in ("never_fires", "timer_never_fires") for f in shallow.findings)
    chosen, given = explore(retention, depth=None), explore(retention, depth=10)
    assert chosen.depth == 10 and chosen.findings == ()
    assert chosen.configurations == given.configurations
    assert "up to 10 events (the depth chosen: the first from 8 within which every" in (
        chosen.summary()
    )
    assert chosen.to_json()["depth_chosen"] is True and given.to_json()["depth_chosen"] is False


def test_the_depth_chosen_stops_at_16_for_a_transition_that_never_fires() -> None:
    """A path of 20 steps: the search goes on only to 16 events, reports what lies beyond as
    never firing within 16 events, and says to give --depth to go further."""
    report = explore(load_text(LONG, "long.yaml").process, depth=None)
    assert report.depth == 16 and not report.exhausted
    assert {f.kind for f in report.findings} == {"never_fires"}
    assert "never fires within 16 events" in report.findings[0].message
    assert "(the depth chosen: the most it goes; give --depth N to search deeper)" in (
        report.summary()
    )


LONG = (
    "id: long\nversion: 1\nroles:\n  clerk: {}\nstates:\n  s0: {initial: true}\n"
    + "".join(f"  s{i}: {{}}\n" for i in range(1, 20))
    + "  done: {terminal: true}\ntransitions:\n"
    + "".join(f"  - {{trigger: t{i}, source: s{i}, dest: s{i + 1}}}\n" for i in range(19))
    + "  - {trigger: finish, source: s19, dest: done}\n"
)


CADENCE = """
id: cadence
version: 1
roles:
  clerk: {title: Clerk}
fields:
  reported: {type: bool, default: false}
states:
  working:
    initial: true
    timers:
      - {name: weekly, every: {every: weekly, weekday: wed, at: '09:00'}, trigger: week}
      - {name: monthly, every: {every: monthly, day: 1, at: '09:00'}, trigger: month}
  done:
    terminal: true
transitions:
  - {trigger: week, source: working}
  - {trigger: month, source: working, actions: [{set: {reported: "True"}}]}
  - {trigger: finish, source: working, dest: done, guard: reported, roles: [clerk]}
"""


def test_a_monthly_timer_beside_a_weekly_one_fires() -> None:
    """The weekly timer comes due four times before the monthly one: each firing leads to
    the same fields and timers, but closer to the month, so the search goes on to it."""
    report = explore(load_text(CADENCE, "cadence.yaml").process, depth=None)
    assert [f.lines()[0] for f in report.findings] == []
