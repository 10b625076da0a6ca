"""Timers: scheduled on entry, cancelled on leaving, fired once, chains fired in one tick."""

from __future__ import annotations

from datetime import timedelta

from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.machine import MachineAdapter
from fulfil.engine.store import Store
from runtime_support import CLIENT, OPS, T0
from test_engine import started


def test_timer_scheduled_on_entry_and_cancelled_on_leaving(engine: Engine, store: Store) -> None:
    """Entering in_progress arms its 7d timer; closing the task removes it."""
    instance = started(engine)
    assert [(t.name, t.due_at) for t in engine.show(instance).timers] == [
        ("next_call_due", T0 + timedelta(days=7))
    ]
    engine.fire(instance, "access_obtained", **OPS)
    assert engine.show(instance).timers == ()
    assert engine.tick(T0 + timedelta(days=60)) == []
    with store.transaction(write=False) as tx:
        assert tx.next_due_timer(T0 + timedelta(days=60)) is None


def test_timer_fires_once_at_its_due_time(engine: Engine) -> None:
    """A due timer fires as actor `timer` at its due time, and a second tick fires nothing."""
    instance = started(engine)
    fired = engine.tick(T0 + timedelta(days=7, minutes=1))
    assert [(f.timer, f.at) for f in fired] == [("next_call_due", T0 + timedelta(days=7))]
    assert engine.tick(T0 + timedelta(days=7, minutes=2)) == []
    event = engine.history(instance)[-1]
    assert (event.kind, event.actor, event.trigger, event.at) == (
        "timer",
        "timer",
        "remind",
        T0 + timedelta(days=7),
    )
    assert event.detail["timer"] == "next_call_due"


def test_far_tick_fires_a_chain_in_order(engine: Engine) -> None:
    """One tick three weeks ahead fires week 1, 2 and 3, each at its own time."""
    instance = started(engine)
    fired = engine.tick(T0 + timedelta(days=21, hours=1))
    assert [f.at for f in fired] == [T0 + timedelta(days=7 * n) for n in (1, 2, 3)]
    assert engine.show(instance).data["log"].splitlines() == [
        "2026-03-09: Reminder: next call due",
        "2026-03-16: Reminder: next call due",
        "2026-03-23: Reminder: next call due",
    ]
    assert engine.verify(instance).ok


def test_at_timer_in_the_past_is_fired_not_dropped(engine: Engine) -> None:
    """An `at` time already past when the state is entered fires at the next tick, noted."""
    instance = engine.start("access", {**CLIENT, "effective_date": "2026-03-10"}).id
    begun = engine.fire(instance, "begin", **OPS)  # 14 days before is 2026-02-24: past
    begin_event = engine.history(instance)[-1]
    assert {"name": "effective", "due_at": "2026-02-24T00:00:00.000000+00:00", "past": True} in (
        begin_event.detail["timers"]
    )
    assert "effective" in [t.name for t in begun.timers]
    fired = engine.tick(T0)
    assert [f.timer for f in fired] == ["effective"]
    assert engine.history(instance)[-1].detail["late"] is True
    assert engine.show(instance).data["log"] == "2026-03-02: Effective date in 14 days"
    assert engine.tick(T0 + timedelta(hours=1)) == []  # the self-loop does not re-arm it


def test_at_timer_unset_field_is_not_scheduled(engine: Engine) -> None:
    """An `at` timer over an unset field is not armed."""
    instance = started(engine)
    assert [t.name for t in engine.show(instance).timers] == ["next_call_due"]


def test_machine_keeps_no_instances_attached(engine: Engine) -> None:
    """After many events the shared transitions machine holds no models."""
    instance = started(engine)
    for _ in range(5):
        engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    [compiled] = engine.definitions._cache.values()
    adapter: MachineAdapter[object] = compiled.machine  # type: ignore[assignment]
    assert adapter._machine.models == []
