"""A repeating timer of a compound state keeps repeating when it moves between the states
inside it: the instance never leaves the compound state, so the timer is armed again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

WEEKLY = """
id: rota
version: 1
roles:
  lead: {title: Lead, contact: "lead@example.com"}
fields:
  note: {type: text}
states:
  running:
    initial: true
    status: Running
    timers:
      - {name: swap, every: {every: daily, at: "09:00", timezone: UTC}, trigger: swap}
    states:
      day:
        initial: true
      night: {}
  done:
    terminal: true
    status: Closed
    closure_reason: Complete
transitions:
  - {trigger: swap, source: day, dest: night}
  - {trigger: swap, source: night, dest: day}
  - {trigger: finish, source: running, dest: done, roles: [lead]}
"""


def test_a_compound_states_repeating_timer_is_armed_again_after_an_inner_move(
    store: Store,
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    engine = Engine(Catalog((load_text(WEEKLY, "rota.yaml").process,)), store=store, clock=clock)
    instance = engine.start("rota").id
    states = []
    for _ in range(3):
        clock.advance(timedelta(days=1))
        engine.tick()
        view = engine.show(instance)
        states.append(view.state)
        assert [t.name for t in view.timers] == ["swap"]
    assert states == ["night", "day", "night"]
    assert engine.verify(instance).ok
