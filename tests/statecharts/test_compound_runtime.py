"""Compound states at run time (the `desk` fixture): entering, inheriting, timers, entry/exit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import TriggerNotAllowed
from fulfil.engine.runtime import Engine

AGENT = {"actor": "ann", "role": "agent"}
CLIENT = {"actor": "cy", "role": "client"}
START = {"client_email": "cy@example.com"}


def log_lines(engine: Engine, instance: str) -> list[str]:
    text = engine.show(instance).data["log"] or ""
    return [line.split(": ", 1)[1] for line in text.splitlines()]


def timers(engine: Engine, instance: str) -> dict[str, object]:
    return {t.name: t.due_at for t in engine.show(instance).timers}


def test_start_enters_the_initial_state_of_the_initial_compound_state(desk: Engine) -> None:
    """An instance starts in the innermost initial state; show gives the path to it, the
    status it declares, and the queue and owner it inherits."""
    view = desk.start("desk", START)
    assert (view.state, view.status, view.owner) == ("triage", "New", "agent")
    assert view.to_json()["path"] == ["open", "triage"]
    assert view.to_json()["state"] == "triage"


def test_entering_a_compound_state_enters_its_initial_state_recursively(desk: Engine) -> None:
    """A transition to `working` ends in `calling`, running the entry actions outermost first."""
    instance = desk.start("desk", START).id
    view = desk.fire(instance, "start_work", **AGENT)
    assert view.state == "calling"
    assert view.to_json()["path"] == ["open", "working", "calling"]
    assert view.status == "Open"  # inherited from `open` (calling gives none)
    assert log_lines(desk, instance) == ["work starts", "calling"]


def test_a_child_overrides_the_owner_it_would_inherit(desk: Engine) -> None:
    """`waiting` is owned by the client; its siblings by the agent of `open`."""
    instance = desk.start("desk", START).id
    desk.fire(instance, "start_work", **AGENT)
    assert desk.fire(instance, "call", **AGENT).owner == "client"


def test_a_transition_on_a_compound_state_applies_inside_it(desk: Engine) -> None:
    """`cancel`, written on `open`, fires from `calling`, exiting innermost first."""
    instance = desk.start("desk", START).id
    desk.fire(instance, "start_work", **AGENT)
    view = desk.fire(instance, "cancel", **CLIENT)
    assert (view.state, view.closure_reason) == ("cancelled", "Cancelled")
    assert log_lines(desk, instance)[2:] == ["left calling", "left working", "left open"]
    assert view.timers == ()  # leaving `open` cancelled its timer and `working`'s


def test_an_inner_transition_takes_priority_and_the_inherited_one_is_the_fallback(
    desk: Engine,
) -> None:
    """In `waiting`, an urgent `cancel` takes the inner transition; otherwise `open`'s."""
    urgent, calm = desk.start("desk", START).id, desk.start("desk", START).id
    for instance in (urgent, calm):
        desk.fire(instance, "start_work", **AGENT)
        desk.fire(instance, "call", **AGENT)
    assert desk.fire(urgent, "cancel", {"urgent": True}, **CLIENT).state == "calling"
    assert desk.fire(calm, "cancel", **CLIENT).state == "cancelled"


def test_timers_of_a_compound_state_run_across_its_states(desk: Engine, clock: ManualClock) -> None:
    """`open`'s 7-day digest keeps its due time while the instance moves inside `open`;
    `working`'s nudge is armed on entering it and restarted by its self-transition."""
    instance = desk.start("desk", START).id
    digest = timers(desk, instance)["digest"]
    clock.advance(timedelta(hours=1))
    desk.fire(instance, "start_work", **AGENT)
    assert timers(desk, instance) == {
        "digest": digest,
        "nudge": clock.now() + timedelta(days=2),
    }
    clock.advance(timedelta(hours=1))
    desk.fire(instance, "call", **AGENT)
    clock.advance(timedelta(days=2))
    fired = desk.tick(clock.now())
    assert [f.timer for f in fired] == ["nudge"]
    assert desk.show(instance).state == "calling"  # `working` re-entered: its initial state
    assert timers(desk, instance)["digest"] == digest
    assert timers(desk, instance)["nudge"] == fired[0].at + timedelta(days=2)


def test_an_external_self_transition_runs_exit_and_entry_an_internal_one_neither(
    desk: Engine, clock: ManualClock
) -> None:
    """`nudge` (working -> working) leaves and re-enters `working`; `digest` (no dest, on
    `open`) only runs its own action."""
    instance = desk.start("desk", START).id
    desk.fire(instance, "start_work", **AGENT)
    desk.fire(instance, "call", **AGENT)
    clock.advance(timedelta(days=2))
    desk.tick(clock.now())
    assert log_lines(desk, instance)[2:] == [
        "left calling",
        "left working",
        "work starts",
        "calling",
    ]
    clock.advance(timedelta(days=5))
    desk.tick(clock.now())
    assert log_lines(desk, instance)[-1] == "digest"
    assert desk.show(instance).state == "calling"


def test_history_names_the_states_left_and_entered_and_verifies(desk: Engine) -> None:
    """A move's history event lists the states it exited and entered; verify replays it."""
    instance = desk.start("desk", START).id
    desk.fire(instance, "start_work", **AGENT)
    desk.fire(instance, "cancel", **CLIENT)
    moves = [e for e in desk.history(instance) if e.kind == "transition"]
    assert (moves[0].source, moves[0].dest) == ("triage", "calling")
    assert moves[0].detail["exited"] == ["triage"]
    assert moves[0].detail["entered"] == ["working", "calling"]
    assert moves[1].detail["exited"] == ["calling", "working", "open"]
    assert desk.verify(instance).problems == ()


def test_a_trigger_of_another_state_is_refused(desk: Engine) -> None:
    """`solve` is written on `working`: refused in `triage`, which is not inside it."""
    instance = desk.start("desk", START).id
    with pytest.raises(TriggerNotAllowed, match="cannot fire in state 'triage'"):
        desk.fire(instance, "solve", **AGENT)
