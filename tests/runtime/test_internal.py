"""Internal transitions (no `dest`): the instance stays in its state, its timers keep running."""

from __future__ import annotations

from datetime import timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.machine import MachineAdapter, TransitionSpec
from fulfil.engine.store import Store
from runtime_support import T0

WATCH = """
id: watch
version: 1
roles:
  clerk: {title: Clerk, contact: "clerk@example.com"}
fields:
  note: {type: text}
states:
  waiting:
    initial: true
    timers:
      - {name: reminder, after: 7d, trigger: remind}
    sla: {due: 2d, owner: clerk}
  done:
    terminal: true
transitions:
  - trigger: comment          # internal: stays without leaving
    source: waiting
    roles: [clerk]
    actions:
      - append: {field: note, line: "comment"}
  - trigger: poke             # a self-loop: leaves and enters again
    source: waiting
    dest: waiting
    roles: [clerk]
  - trigger: remind
    source: waiting
    dest: done
"""
CLERK = {"actor": "kim", "role": "clerk"}


def engine_for(store: Store, clock: ManualClock) -> Engine:
    catalog = Catalog((load_text(WATCH, "watch.yaml").process,))
    return Engine(catalog, store=store, clock=clock)


def due_times(engine: Engine, instance: str) -> dict[str, object]:
    return {t.name: t.due_at for t in engine.show(instance).timers}


def test_transition_without_dest_is_internal() -> None:
    """A transition without `dest` loads as internal; with `dest` it is not."""
    process = load_text(WATCH, "watch.yaml").process
    comment, poke, _ = process.transitions
    assert (comment.dest, comment.internal, comment.target("waiting")) == (None, True, "waiting")
    assert (poke.internal, poke.target("waiting")) == (False, "waiting")


def test_internal_transition_keeps_timers_running(store: Store, clock: ManualClock) -> None:
    """Firing an internal transition a day in keeps the 7d timer and the 2d SLA due as armed."""
    engine = engine_for(store, clock)
    instance = engine.start("watch", {}).id
    armed = due_times(engine, instance)
    clock.advance(timedelta(days=1))
    view = engine.fire(instance, "comment", **CLERK)
    assert view.state == "waiting"
    assert "comment" in view.data["note"]
    assert due_times(engine, instance) == armed
    assert armed["reminder"] == T0 + timedelta(days=7)
    fired = engine.tick(T0 + timedelta(days=7))
    assert [f.timer for f in fired][-1] == "reminder"
    assert engine.show(instance).state == "done"


def test_self_loop_restarts_timers(store: Store, clock: ManualClock) -> None:
    """A self-loop with `dest` leaves and re-enters: the 7d timer counts from the loop."""
    engine = engine_for(store, clock)
    instance = engine.start("watch", {}).id
    clock.advance(timedelta(days=3))
    engine.fire(instance, "poke", **CLERK)
    assert due_times(engine, instance)["reminder"] == T0 + timedelta(days=10)


def test_internal_transition_history_and_verify(store: Store, clock: ManualClock) -> None:
    """The event goes from the state to itself, says it is internal, and replay accepts it."""
    engine = engine_for(store, clock)
    instance = engine.start("watch", {}).id
    engine.fire(instance, "comment", **CLERK)
    event = engine.history(instance)[-1]
    assert (event.trigger, event.source, event.dest) == ("comment", "waiting", "waiting")
    assert event.detail.get("internal") is True
    assert "timers" not in event.detail
    assert engine.verify(instance).ok


DAILY = WATCH.replace(
    "- {name: reminder, after: 7d, trigger: remind}",
    "- {name: reminder, after: 7d, trigger: remind}\n"
    "      - {name: daily, every: {every: daily, at: '08:00'}, trigger: comment}",
).replace("roles: [clerk]\n    actions:", "actions:")


def test_recurring_timer_on_internal_transition_is_armed_again(
    store: Store, clock: ManualClock
) -> None:
    """A daily timer firing an internal transition fires every day; the 7d timer is untouched."""
    catalog = Catalog((load_text(DAILY, "watch.yaml").process,))
    engine = Engine(catalog, store=store, clock=clock)
    instance = engine.start("watch", {}).id
    fired = engine.tick(T0 + timedelta(days=3))
    assert [f.timer for f in fired if f.timer == "daily"] == ["daily"] * 3
    assert engine.show(instance).data["note"].count("comment") == 3
    due = due_times(engine, instance)
    assert due["reminder"] == T0 + timedelta(days=7)
    assert due["daily"] == T0.replace(hour=8) + timedelta(days=4)


def test_machine_adapter_runs_internal_transitions_in_place() -> None:
    """A spec without dest stays in its state, runs its action, and enters nothing."""
    ran: list[str] = []
    spec = TransitionSpec("note", ("a",), None, lambda ctx: True, ran.append)
    adapter = MachineAdapter(["a", "b"], "a", [spec])
    assert adapter.fire("a", "note", "ctx") == "a"
    assert ran == ["ctx"]
