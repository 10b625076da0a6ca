"""Hypothesis: timers fire exactly once, at their due time, unless their state was left first."""

from __future__ import annotations

from datetime import datetime, timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import FIXTURES, T0

CATALOG = Catalog((load_file(FIXTURES / "clocked.yaml").process,))
# state -> its timers (name, after, destination), as clocked.yaml declares them
TIMERS = {
    "a": [("ta", timedelta(hours=1), "b"), ("slow", timedelta(hours=3), "c")],
    "b": [("tb", timedelta(hours=2), "a")],
    "c": [],
}
PEOPLE = {"back": ({"b", "c"}, "a"), "hop": ({"a"}, "b")}


class Model:
    """What should happen: the timers armed in the current state and the firings so far."""

    def __init__(self, now: datetime) -> None:
        self.fired: list[tuple[str, datetime]] = []
        self.enter("a", now)

    def enter(self, state: str, at: datetime) -> None:
        self.state = state
        self.armed = {name: (at + after, dest) for name, after, dest in TIMERS[state]}

    def tick(self, now: datetime) -> None:
        while True:
            due = [(when, name, dest) for name, (when, dest) in self.armed.items() if when <= now]
            if not due:
                return
            when, name, dest = min(due)
            self.fired.append((name, when))
            self.enter(dest, when)


OPS = st.one_of(
    st.tuples(st.just("advance"), st.integers(min_value=0, max_value=300)),
    st.tuples(st.just("fire"), st.sampled_from(sorted(PEOPLE))),
    st.tuples(st.just("tick"), st.just(0)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(OPS, max_size=25))
def test_timers_fire_once_at_due_time_unless_left(ops: list[tuple[str, object]]) -> None:
    """Random fires, clock advances and ticks: the history's timer firings equal the model's."""
    clock = ManualClock(T0)
    engine = Engine(CATALOG, store=MemoryStore(), clock=clock)
    instance = engine.start("clocked").id
    model = Model(T0)
    for op, arg in ops:
        if op == "advance":
            assert isinstance(arg, int)
            clock.advance(timedelta(minutes=arg))
        elif op == "tick":
            engine.tick()
            model.tick(clock.now())
        else:
            assert isinstance(arg, str)
            sources, dest = PEOPLE[arg]
            model.tick(clock.now())  # the timers due before a person acts fire first
            if model.state in sources:
                engine.fire(instance, arg)
                model.enter(dest, clock.now())
    engine.tick()
    model.tick(clock.now())
    events = [e for e in engine.history(instance) if e.kind == "timer"]
    assert [(e.detail["timer"], e.at) for e in events] == model.fired
    assert all(e.at <= clock.now() for e in events)
    assert engine.show(instance).state == model.state
