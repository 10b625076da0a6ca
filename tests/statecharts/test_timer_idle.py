"""An `idle` timer: due when the instance has taken no step in its state for the time given;
every step there (internal ones, moves between the states inside a compound state, other
timers, its own firing) arms it afresh; leaving the state cancels it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fulfil.engine.checking import explore
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.render.mermaid import render_mermaid
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

TICKET = """
id: ticket
version: 1
roles:
  agent: {title: Agent, contact: "agent@example.com"}
fields:
  nudges: {type: int, default: 0}
  note: {type: text}
states:
  open:
    initial: true
    status: Open
    timers:
      - {name: nudge, idle: 3d, trigger: nudge}
    states:
      triage:
        initial: true
      working: {}
  done:
    terminal: true
    status: Closed
    closure_reason: Complete
transitions:
  - {trigger: nudge, source: open, actions: [{set: {nudges: "nudges + 1"}}]}
  - {trigger: comment, source: open, input: [note], roles: [agent]}
  - {trigger: start_work, source: triage, dest: working, roles: [agent]}
  - {trigger: close, source: open, dest: done, roles: [agent]}
"""


def ticket(store: Store, clock: ManualClock, text: str = TICKET) -> Engine:
    return Engine(Catalog((load_text(text, "ticket.yaml").process,)), store=store, clock=clock)


def due(engine: Engine, instance: str) -> list[datetime]:
    return [t.due_at for t in engine.show(instance).timers if t.name == "nudge"]


def test_an_idle_timer_fires_after_the_time_without_a_step_and_again_after_it(
    store: Store,
) -> None:
    clock = ManualClock(T0)
    engine = ticket(store, clock)
    instance = engine.start("ticket").id
    assert due(engine, instance) == [T0 + timedelta(days=3)]
    clock.advance(timedelta(days=7))
    engine.tick()
    # its own firing is a step in the state: nudged at day 3 and day 6, next at day 9
    assert engine.show(instance).data["nudges"] == 2
    assert due(engine, instance) == [T0 + timedelta(days=9)]
    assert engine.verify(instance).ok


def test_every_step_in_the_state_pushes_it_back(store: Store) -> None:
    clock = ManualClock(T0)
    engine = ticket(store, clock)
    instance = engine.start("ticket").id
    clock.advance(timedelta(days=2))
    engine.fire(instance, "comment", {"note": "called"}, actor="ann", role="agent")  # internal
    assert due(engine, instance) == [T0 + timedelta(days=5)]
    clock.advance(timedelta(days=2))
    engine.fire(instance, "start_work", None, actor="ann", role="agent")  # inside `open`
    assert due(engine, instance) == [T0 + timedelta(days=7)]
    clock.advance(timedelta(days=2, hours=23))
    engine.tick()
    assert engine.show(instance).data["nudges"] == 0
    clock.advance(timedelta(hours=1))
    engine.tick()
    assert engine.show(instance).data["nudges"] == 1
    assert len(engine.show(instance).timers) == 1  # re-armed, never doubled
    assert engine.verify(instance).ok


def test_leaving_the_state_cancels_it(store: Store) -> None:
    clock = ManualClock(T0)
    engine = ticket(store, clock)
    instance = engine.start("ticket").id
    engine.fire(instance, "close", None, actor="ann", role="agent")
    assert not engine.show(instance).timers
    clock.advance(timedelta(days=10))
    assert engine.tick() == []


def test_a_bad_idle_duration_and_two_kinds_are_refused_at_their_place() -> None:
    text = TICKET.replace("idle: 3d", "idle: 3 days")
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "ticket.yaml")
    assert any(p.location.path[-1] == "idle" for p in caught.value.problems)
    text = TICKET.replace("idle: 3d", "idle: 3d, after: 1d")
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "ticket.yaml")
    assert any(
        "exactly one of after, at, every, idle; this one has after and idle" in p.message
        for p in caught.value.problems
    )


def test_diagrams_name_the_idle_time() -> None:
    text = render_mermaid(load_text(TICKET, "ticket.yaml").process)
    assert "timer idle 3d nudge → nudge" in text


def test_check_arms_it_afresh_on_each_step() -> None:
    """Its own firing arms it again: a second nudge is reached (the invariant breaks after
    two idle periods, not one)."""
    invariant = '\ninvariants:\n  one_nudge: "nudges <= 1"\n'
    report = explore(load_text(TICKET + invariant, "ticket.yaml").process)
    found = [f for f in report.findings if f.kind == "invariant"]
    assert len(found) == 1
    assert found[0].scenario is not None
    assert [s for s in found[0].scenario["steps"] if "tick" in s] == [{"tick": True}] * 2
    clean = explore(load_text(TICKET, "ticket.yaml").process)
    assert [f.kind for f in clean.findings] == []
