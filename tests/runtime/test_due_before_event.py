"""A person's event meets the state the due timers left, however late the worker ticks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_directory, load_file
from fulfil.engine.errors import TriggerNotAllowed
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store
from runtime_support import FIXTURES

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
SHIPPED = load_directory(PROCESSES)
FACEBOOK = {"client": "Acme Motors", "client_email": "owner@acme.test", "fr_number": "FR-1"}
SPECIALIST = "ops_specialist"


def _moves(engine: Engine, instance: str) -> list[tuple[str, str | None, object]]:
    return [
        (e.kind, e.trigger, e.at)
        for e in engine.history(instance)
        if e.kind in ("transition", "timer", "refused", "sla")
    ]


def test_due_reminder_fires_before_a_late_call(store: Store, clock: ManualClock) -> None:
    """The 7-day reminder due before a call logged on day 9 fires first, at its due time."""
    engine = Engine(SHIPPED, store=store, clock=clock)
    t0 = clock.now()
    instance = engine.start("facebook_access", FACEBOOK).id
    engine.fire(instance, "begin", role=SPECIALIST)
    engine.fire(instance, "log_call", {"outcome": "no_answer"}, role=SPECIALIST)
    clock.advance(timedelta(days=9))
    view = engine.fire(instance, "log_call", {"outcome": "reached"}, role=SPECIALIST)
    assert view.state == "in_progress"
    assert _moves(engine, instance)[-2:] == [
        ("timer", "next_call_due", t0 + timedelta(days=7)),
        ("transition", "log_call", t0 + timedelta(days=9)),
    ]
    reminder = [m for m in engine.outbox() if m.subject.startswith("Call 2 due")]
    assert len(reminder) == 1
    assert engine.tick() == []  # the worker finds nothing left to fire


def test_trigger_checked_against_the_state_the_timer_left(store: Store, clock: ManualClock) -> None:
    """A trigger valid before a due timer but not after it is refused; the timer stays fired."""
    catalog = Catalog((load_file(FIXTURES / "clocked.yaml").process,))
    engine = Engine(catalog, store=store, clock=clock)
    t0 = clock.now()
    instance = engine.start("clocked").id
    clock.advance(timedelta(minutes=90))
    with pytest.raises(TriggerNotAllowed, match="'hop' cannot fire in state 'b'"):
        engine.fire(instance, "hop")
    assert engine.show(instance).state == "b"
    assert _moves(engine, instance) == [("timer", "to_b", t0 + timedelta(hours=1))]


def test_timer_due_exactly_at_the_event_fires_first(store: Store, clock: ManualClock) -> None:
    """A timer due at the very time of a person's event fires before it, as a tick would."""
    catalog = Catalog((load_file(FIXTURES / "clocked.yaml").process,))
    engine = Engine(catalog, store=store, clock=clock)
    instance = engine.start("clocked").id
    clock.advance(timedelta(hours=1))
    assert engine.fire(instance, "back").state == "a"
    assert [m[:2] for m in _moves(engine, instance)] == [
        ("timer", "to_b"),
        ("transition", "back"),
    ]


def test_sibling_timer_fires_before_a_rule_closes_its_task(
    store: Store, clock: ManualClock
) -> None:
    """A task's due reminder fires before a sibling's event whose rule closes that task."""
    engine = Engine(SHIPPED, store=store, clock=clock)
    t0 = clock.now()
    request = engine.start("pdm_outreach", FACEBOOK).id
    engine.fire(f"{request}.cs_intake", "complete", role="account_manager")
    call = f"{request}.intake_call"
    engine.fire(call, "begin", role=SPECIALIST)
    engine.fire(call, "log_call", {"outcome": "no_answer"}, role=SPECIALIST)
    clock.advance(timedelta(days=9))
    engine.fire(f"{request}.obtain_access", "complete", role=SPECIALIST)
    assert engine.show(call).state == "closed"
    assert _moves(engine, call)[-2:] == [
        ("timer", "next_call_due", t0 + timedelta(days=7)),
        ("transition", "close_complete", t0 + timedelta(days=9)),
    ]
