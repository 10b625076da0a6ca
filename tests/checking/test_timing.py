"""`timing`: timer-only times between states, from each state a person's action enters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fulfil.engine.checking import timing
from fulfil.engine.definition.loader import load_directory, load_file, load_text

FOLDER = Path(__file__).parents[1] / "processes" / "checking"
SHIPPED = Path(__file__).parents[2] / "processes"


def test_a_seven_plus_seven_day_chain_takes_fourteen_days() -> None:
    """waiting -7d-> reminded -7d-> escalated: escalation 14 days after the start."""
    report = timing(load_file(FOLDER / "chain.yaml").process)
    reach = {(r.origin, r.target): r for r in report.reaches}
    escalated = reach[("waiting", "escalated")]
    assert escalated.shortest.fixed == timedelta(days=14)
    assert escalated.longest == escalated.shortest
    assert escalated.shortest.via == ("remind", "escalate")
    assert escalated.text() == "escalated: 14 days (via remind, escalate)"
    assert ("reminded", "escalated") not in reach  # only a timer enters `reminded`
    assert reach[("waiting", "expired")].shortest.fixed == timedelta(days=17)
    assert reach[("waiting", "expired")].terminal


def test_timing_from_a_chosen_state() -> None:
    """`start=` measures from any state: reminded reaches escalated in 7 days."""
    report = timing(load_file(FOLDER / "chain.yaml").process, start=["reminded"])
    assert [(r.origin, r.target, r.shortest.fixed.days) for r in report.reaches] == [
        ("reminded", "escalated", 7),
        ("reminded", "expired", 10),
    ]


def test_a_competing_shorter_timer_pre_empts_the_longer_one() -> None:
    """`expire` (3d, always leaves) fires before `nudge` (5d): nudge is reported, not followed."""
    report = timing(load_file(FOLDER / "chain.yaml").process)
    assert [(d.state, d.timer.name, d.by.name) for d in report.dominated] == [
        ("escalated", "nudge", "expire")
    ]
    assert all("nudge" not in r.shortest.via for r in report.reaches)
    assert any("nudge" in line and "can never fire" in line for line in report.lines())


def test_facebook_access_reminds_seven_days_after_a_failed_call() -> None:
    """From waiting_next_call (entered by a failed call) the next call is due after 7 days."""
    report = timing(load_directory(SHIPPED).get("facebook_access"))
    assert [(r.origin, r.target, r.shortest.fixed) for r in report.reaches] == [
        ("waiting_next_call", "in_progress", timedelta(days=7))
    ]
    assert report.dominated == ()


def test_field_dependent_timers_are_described_not_summed() -> None:
    """`at` timers say what they depend on; the terminal is reached through both of them."""
    report = timing(load_directory(SHIPPED).get("retention"))
    reach = {(r.origin, r.target): r for r in report.reaches}
    closed = reach[("awaiting_effective_date", "closed")]
    assert closed.shortest.text() == (
        "depends on `effective_date - days(14)`, then depends on `effective_date`"
    )
    assert closed.to_json()["via"] == ["effective_date_reminder", "effective_date_reached"]


def test_a_timer_loop_has_no_upper_bound() -> None:
    """A self-loop timer on the way makes the longest time unbounded."""
    ping = "\n      - {name: ping, after: 1d, trigger: ping}"
    text = (
        (FOLDER / "chain.yaml")
        .read_text()
        .replace(
            "- {name: remind, after: 7d, trigger: remind}",
            "- {name: remind, after: 7d, trigger: remind}" + ping,
        )
        .replace(
            "  - {trigger: remind, source: waiting, dest: reminded}",
            "  - {trigger: remind, source: waiting, dest: reminded}\n"
            '  - {trigger: ping, source: waiting, dest: waiting, guard: "false"}',
        )
    )
    report = timing(load_text(text, "chain.yaml").process)
    reach = {(r.origin, r.target): r for r in report.reaches}
    assert reach[("waiting", "escalated")].longest is None
    assert "no upper bound" in reach[("waiting", "escalated")].text()


def test_an_internal_transition_enters_no_state() -> None:
    """A person's internal transition on `reminded` does not make it an origin of timings."""
    text = (FOLDER / "chain.yaml").read_text() + (
        "  - {trigger: note, source: reminded, roles: [agent]}\n"
    )
    report = timing(load_text(text, "chain.yaml").process)
    assert "reminded" not in {r.origin for r in report.reaches}


def test_a_shorter_timer_firing_an_internal_transition_pre_empts_nothing() -> None:
    """A 1-day `ping` that stays (internal) keeps neither `expire` nor `nudge` from firing."""
    text = (FOLDER / "chain.yaml").read_text()
    text = text.replace(
        "      - {name: nudge, after: 5d, trigger: nudge}\n",
        "      - {name: nudge, after: 5d, trigger: nudge}\n"
        "      - {name: ping, after: 1d, trigger: ping}\n",
    )
    text += "  - {trigger: ping, source: escalated}\n"
    report = timing(load_text(text, "chain.yaml").process)
    assert [(d.timer.name, d.by.name) for d in report.dominated] == [("nudge", "expire")]
