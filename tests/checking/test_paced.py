"""`paced`: times when people act at once but wait for a pending timer (issue 8's figure)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.checking import PacedReach, paced
from fulfil.engine.checking.paced import _Graph, _PacedExplorer
from fulfil.engine.definition.loader import load_directory, load_file, load_text

FOLDER = Path(__file__).parents[1] / "processes" / "checking"
SHIPPED = Path(__file__).parents[2] / "processes"


def _reaches(report_reaches: tuple[PacedReach, ...]) -> dict[tuple[str, str], PacedReach]:
    return {(r.origin, r.target): r for r in report_reaches}


def test_facebook_access_escalates_fourteen_days_after_the_first_failed_call() -> None:
    """waiting_next_call (first entered with attempt 1) -> escalated: exactly 14 days."""
    process = load_directory(SHIPPED).get("facebook_access")
    reach = _reaches(paced(process).reaches)[("waiting_next_call", "escalated")]
    assert reach.shortest.fixed == timedelta(days=14)
    assert reach.longest is not None and reach.longest.fixed == timedelta(days=14)
    assert reach.shortest.via == ("next_call_due", "next_call_due")
    assert reach.text() == (
        "paced: waiting_next_call -> escalated: 14 days (shortest), 14 days (longest)"
    )


def test_facebook_access_origins_are_the_first_failed_call() -> None:
    """The origin configurations of waiting_next_call all carry attempt 1, none attempt 2."""
    explorer = _PacedExplorer(load_directory(SHIPPED).get("facebook_access"))
    explorer.run()
    graph = _Graph(explorer)
    origins = graph.first_entries("waiting_next_call", by_anyone=False)
    assert origins
    assert {explorer.values_of(explorer.nodes[n])["attempt"] for n in origins} == {1}


def test_facebook_access_closing_takes_one_or_two_reminders() -> None:
    """After the first failed call, closing comes after 7 days at the soonest, 14 at the latest."""
    process = load_directory(SHIPPED).get("facebook_access")
    reach = _reaches(paced(process).reaches)[("waiting_next_call", "closed")]
    assert reach.terminal
    assert reach.shortest.fixed == timedelta(days=7)
    assert reach.longest is not None and reach.longest.fixed == timedelta(days=14)


def test_two_cadence_paths_give_distinct_shortest_and_longest() -> None:
    """Escalating when reminded takes 3 days; asking a second opinion first takes 7."""
    report = paced(load_file(FOLDER / "cadence.yaml").process)
    reach = _reaches(report.reaches)[("waiting", "escalated")]
    assert reach.shortest.fixed == timedelta(days=3)
    assert reach.longest is not None and reach.longest.fixed == timedelta(days=7)
    assert reach.longest.via == ("remind", "answer_due")
    assert reach.text() == "paced: waiting -> escalated: 3 days (shortest), 7 days (longest)"


def test_states_people_reach_at_once_are_not_reported() -> None:
    """From `new` people reach `waiting` at once: only timer-reached, escalation, terminal."""
    report = paced(load_file(FOLDER / "cadence.yaml").process)
    assert ("new", "waiting") not in _reaches(report.reaches)
    assert ("escalated", "done") in _reaches(report.reaches)


def test_a_loop_without_a_data_bound_is_unbounded() -> None:
    """Retrying after each reminder, with no counter, can delay the escalation for ever."""
    text = (FOLDER / "cadence.yaml").read_text() + (
        "  - {trigger: retry, source: reminded, dest: waiting, roles: [agent]}\n"
    )
    report = paced(load_text(text, "cadence.yaml").process)
    reach = _reaches(report.reaches)[("waiting", "escalated")]
    assert reach.shortest.fixed == timedelta(days=3)
    assert reach.longest is None
    assert reach.text().endswith("3 days (shortest), unbounded (longest)")
    assert reach.to_json()["longest_seconds"] is None


def test_explicit_start_measures_from_any_first_entry() -> None:
    """`start=` counts entries by a timer too: reminded (entered by `remind`) reaches escalated."""
    report = paced(load_file(FOLDER / "cadence.yaml").process, start=["reminded"])
    reach = _reaches(report.reaches)[("reminded", "escalated")]
    assert (reach.shortest.fixed, reach.longest and reach.longest.fixed) == (
        timedelta(0),
        timedelta(days=4),
    )


def test_cli_prints_and_serialises_the_paced_figures() -> None:
    """`check --timing` prints the paced line beside the timer-only report, and in --json."""
    args = ["--processes", str(SHIPPED), "check", "facebook_access", "--timing"]
    out = CliRunner().invoke(main, args).stdout.splitlines()
    assert "  from waiting_next_call:" in out  # the timer-only report stays
    assert "    paced: waiting_next_call -> escalated: 14 days (shortest), 14 days (longest)" in out
    assert any(line.startswith("  paced (people act at once") for line in out)
    data = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert data["timing"]["reaches"][0]["to"] == "in_progress"
    found = [r for r in data["timing"]["paced"]["reaches"] if r["from"] == "waiting_next_call"]
    escalated = next(r for r in found if r["to"] == "escalated")
    assert escalated["shortest_seconds"] == escalated["longest_seconds"] == 14 * 86400
