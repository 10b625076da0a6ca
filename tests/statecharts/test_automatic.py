"""Automatic transitions (no trigger): taken by the engine as soon as their guard holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.checking import explore
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file, load_text
from fulfil.engine.errors import DefinitionError, RoleRefused
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CALLS = Path(__file__).parents[1] / "processes" / "statecharts" / "calls.yaml"
AGENT = {"actor": "ann", "role": "agent"}


@pytest.fixture
def calls(store: Store, clock: ManualClock) -> Engine:
    return Engine(Catalog((load_file(CALLS).process,)), store=store, clock=clock)


def test_an_automatic_transition_is_taken_once_its_guard_holds(calls: Engine) -> None:
    """The third call leaves `calling` for `escalated` in the same event; the entry action's
    notice goes out; the history shows the automatic step after the call."""
    instance = calls.start("calls", {}).id
    calls.fire(instance, "call", **AGENT)
    assert calls.fire(instance, "call", **AGENT).state == "calling"
    view = calls.fire(instance, "call", **AGENT)
    assert view.state == "escalated"
    events = [e for e in calls.history(instance) if e.kind == "transition"]
    last = events[-1]
    assert (last.trigger, last.actor, last.source, last.dest) == (
        "automatic",
        "automatic",
        "calling",
        "escalated",
    )
    assert last.detail["automatic"] is True
    assert [m.subject for m in calls.outbox()] == ["Escalated after 3 calls"]
    assert calls.verify(instance).problems == ()


def test_automatic_transitions_chain_to_a_fixed_point(calls: Engine) -> None:
    """An answered call closes the task at once, from any state inside `working`."""
    instance = calls.start("calls", {}).id
    view = calls.fire(instance, "call", {"answered": True}, **AGENT)
    assert view.state == "closed"
    assert view.data["log"].endswith("closed after 1 calls")


def test_people_cannot_fire_an_automatic_transition(calls: Engine) -> None:
    """`automatic` is the engine's: refused by hand, and not listed among the triggers."""
    instance = calls.start("calls", {}).id
    assert "automatic" not in calls.show(instance).triggers
    with pytest.raises(RoleRefused, match="not by hand"):
        calls.fire(instance, "automatic", **AGENT)


def test_an_automatic_transition_may_be_taken_at_the_start() -> None:
    """A start whose data already satisfies the guard ends past the automatic step."""
    engine = Engine(
        Catalog((load_file(CALLS).process,)), store=MemoryStore(), clock=ManualClock(T0)
    )
    assert engine.start("calls", {"answered": True}).state == "closed"


LOOP = """\
id: loop
version: 1
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  b: {}
  done: {terminal: true}
transitions:
  - {trigger: go, source: a, dest: b}
  - {source: b, dest: a, guard: "n >= 0"}
  - {source: a, dest: b, guard: "n >= 0"}
  - {trigger: finish, source: [a, b], dest: done}
"""


def test_a_cycle_of_automatic_transitions_is_a_located_load_error() -> None:
    """a -> b -> a automatically: refused at the first of them, naming the loop."""
    with pytest.raises(DefinitionError) as caught:
        load_text(LOOP, "loop.yaml")
    problem = next(p for p in caught.value.problems if "can loop" in p.message)
    assert problem.location.line == 11
    assert "b -> a -> b" in problem.message or "a -> b -> a" in problem.message


def test_an_internal_automatic_transition_is_a_loop() -> None:
    """Staying in the state and looking again would take it again: refused too."""
    text = LOOP.replace('  - {source: a, dest: b, guard: "n >= 0"}\n', "")
    text = text.replace('{source: b, dest: a, guard: "n >= 0"}', '{source: b, guard: "n >= 0"}')
    with pytest.raises(DefinitionError, match="can loop: b -> b"):
        load_text(text, "loop.yaml")


def test_the_trigger_automatic_is_reserved_and_automatic_transitions_take_no_roles() -> None:
    """Naming a trigger `automatic`, or giving an automatic transition roles, is refused."""
    text = LOOP.replace('  - {source: a, dest: b, guard: "n >= 0"}\n', "")
    text = text.replace('{source: b, dest: a, guard: "n >= 0"}', "{source: b, dest: a, roles: [x]}")
    with pytest.raises(DefinitionError, match="has no `roles`"):
        load_text(text, "loop.yaml")
    with pytest.raises(DefinitionError, match="is the trigger of automatic transitions"):
        load_text(LOOP.replace("trigger: go", "trigger: automatic"), "loop.yaml")


def test_check_takes_automatic_transitions_as_the_runtime_does() -> None:
    """`fulfil check` reaches `escalated` and `closed` through the automatic transitions and
    finds nothing wrong."""
    report = explore(load_file(CALLS).process, depth=6)
    assert [f.kind for f in report.findings] == []
