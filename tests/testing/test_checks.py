"""The properties of engine.testing.properties catch each kind of broken promise they name."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fulfil.engine.checking.abstraction import CLOCK
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_directory, load_text
from fulfil.engine.errors import RoleRefused
from fulfil.engine.runtime import CompiledProcess, Engine
from fulfil.engine.store import EventRecord, InstanceRecord, OutboxRecord, open_store
from fulfil.engine.testing import properties as checks
from fulfil.engine.testing.properties import World

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
TICKET = load_text(
    """
id: ticket
version: 1
roles:
  agent: {title: Agent}
fields:
  amount: {type: int, required: true}
states:
  open:
    initial: true
    timers:
      - {name: nudge, after: 1d, trigger: nudge}
  nudged: {}
  small: {terminal: true}
  large: {terminal: true}
transitions:
  - {trigger: nudge, source: open, dest: nudged}
  - {trigger: decide, source: [open, nudged], dest: small, guard: "amount <= 100", roles: [agent]}
  - {trigger: decide, source: [open, nudged], dest: large, guard: "amount >= 100", roles: [agent]}
invariants:
  modest: "amount < 1000"
""",
    "<ticket>",
).process


def engine_for(catalog: Catalog) -> tuple[Engine, ManualClock]:
    clock = ManualClock(CLOCK)
    return Engine(catalog, store=open_store("memory://"), clock=clock), clock


@pytest.fixture
def ticket() -> tuple[Engine, ManualClock]:
    engine, clock = engine_for(Catalog((TICKET,)))
    engine.start("ticket", {"amount": 5}, id="t1")
    return engine, clock


def test_a_refusal_that_changed_nothing_passes(ticket: tuple[Engine, ManualClock]) -> None:
    """A role refusal audited by exactly one `refused` event is not a problem."""
    engine, _ = ticket
    before = checks.snapshot(engine.store)
    with pytest.raises(RoleRefused):
        engine.fire("t1", "decide", actor="ann", role=None)
    after = checks.snapshot(engine.store)
    assert checks.refusal_problems(before, after, "t1", audited=True) == []
    assert checks.refusal_problems(before, after, "t1", audited=False) != []


def test_a_refusal_that_changed_the_world_is_reported(ticket: tuple[Engine, ManualClock]) -> None:
    """Changed data, a new outbox message or a new instance after a refusal are each reported."""
    engine, _ = ticket
    before = checks.snapshot(engine.store)
    record = before.instances["t1"]
    changed = replace(before, instances={"t1": replace(record, data={"amount": 6})})
    message = OutboxRecord("t1", "email", ("a@example.com",), (), "s", "b", CLOCK)
    mailed = replace(before, outbox=[message])
    extra = replace(record, id="t2")
    started = replace(before, instances={**before.instances, "t2": extra})
    assert "changed instance t1" in checks.refusal_problems(before, changed, "t1", False)[0]
    assert checks.refusal_problems(before, mailed, "t1", False) == [
        "a refused call changed the outbox"
    ]
    assert "stored instances ['t2']" in checks.refusal_problems(before, started, None, False)[0]


def test_a_change_without_its_event_is_reported(ticket: tuple[Engine, ManualClock]) -> None:
    """A state change with no new history event, and a rewritten history, are reported."""
    engine, _ = ticket
    before = checks.snapshot(engine.store)
    record = before.instances["t1"]
    moved = replace(before, instances={"t1": replace(record, state="nudged")})
    assert "without a history event" in checks.change_problems(before, moved)[0]
    first = before.events["t1"][0]
    rewritten = replace(before, events={"t1": [replace(first, actor="mallory")]})
    assert any("rewritten" in p for p in checks.change_problems(before, rewritten))


def test_undeclared_and_reopened_states_are_reported(ticket: tuple[Engine, ManualClock]) -> None:
    """An instance in an unknown state, or moving after a terminal state, is reported."""
    engine, _ = ticket
    engine.fire("t1", "decide", actor="ann", role="agent")
    world = checks.snapshot(engine.store)
    compiled = engine.definitions.compile
    lost = replace(world.instances["t1"], state="limbo")
    problems = checks.state_problems(
        replace(world, instances={"t1": lost}), lambda r: compiled(TICKET)
    )
    assert problems == ["t1 is in 'limbo', which ticket does not declare"]
    again = EventRecord("t1", 3, CLOCK, "x", None, "transition", "decide", "small", "large")
    reopened = replace(world, events={"t1": [*world.events["t1"], again]})
    found = checks.state_problems(reopened, lambda r: compiled(TICKET))
    assert found and "left terminal state 'small'" in found[0]


def test_data_of_the_wrong_type_is_reported() -> None:
    """A text in an int field, an unset required field and an undeclared field are reported."""
    record = InstanceRecord("t1", "ticket", 1, "open", {"amount": "5", "x": 1}, CLOCK, CLOCK, CLOCK)
    assert checks.type_problems(TICKET, record) == [
        "t1 stores undeclared fields ['x']",
        "t1: field 'amount' (int) holds '5'",
    ]
    unset = replace(record, data={"amount": None})
    assert checks.type_problems(TICKET, unset) == ["t1: required field 'amount' is unset"]


def test_false_invariants_are_reported(ticket: tuple[Engine, ManualClock]) -> None:
    """The process's own invariant, false for the stored data, is reported with the data."""
    engine, _ = ticket
    record = checks.snapshot(engine.store).instances["t1"]
    cp = engine.definitions.compile(TICKET)
    invariants = checks.compile_invariants(TICKET)
    assert checks.invariant_problems(invariants, cp, record, CLOCK) == []
    big = replace(record, data={"amount": 5000})
    [problem] = checks.invariant_problems(invariants, cp, big, CLOCK)
    assert "invariant 'modest'" in problem and "{'amount': 5000}" in problem


def test_enabled_transitions_sees_overlapping_guards(ticket: tuple[Engine, ManualClock]) -> None:
    """At amount 100 both `decide` guards pass; at 99 one; with no role none."""
    engine, _ = ticket
    record = checks.snapshot(engine.store).instances["t1"]
    cp = engine.definitions.compile(TICKET)

    def enabled(amount: int, role: str | None) -> list[str]:
        found = checks.enabled_transitions(
            cp, record, "decide", {"amount": amount}, actor="ann", role=role, now=CLOCK
        )
        return [t.dest for t in found]

    assert enabled(100, "agent") == ["small", "large"]
    assert enabled(99, "agent") == ["small"]
    assert enabled(100, None) == []


def test_timers_are_checked_after_a_tick(ticket: tuple[Engine, ManualClock]) -> None:
    """A due timer that fired once passes; one that did not fire, or fired twice, is reported."""
    engine, clock = ticket
    before = checks.snapshot(engine.store)
    now = clock.advance(timedelta(days=2))
    engine.tick()
    after = checks.snapshot(engine.store)
    assert checks.timer_problems(before, after, now) == []
    silent = replace(after, events={"t1": before.events["t1"]})
    assert "did not fire" in checks.timer_problems(before, silent, now)[0]
    fired = after.events["t1"][-1]
    twice = replace(after, events={"t1": [*after.events["t1"], fired]})
    assert "fired 2 times" in checks.timer_problems(before, twice, now)[0]
    stuck = replace(after, timers=before.timers)
    assert "still pending" in checks.timer_problems(before, stuck, now)[-1]


def test_a_task_released_before_its_dependency_is_reported() -> None:
    """A `released` event on a task whose dependency is still open is reported."""
    catalog = load_directory(PROCESSES)
    engine, _ = engine_for(catalog)
    engine.start(
        "pdm_outreach",
        {"client": "Acme", "client_email": "a@example.com", "fr_number": "FR-1"},
        id="r",
    )
    world: World = checks.snapshot(engine.store)

    def compiled(record: InstanceRecord) -> CompiledProcess:
        return engine.definitions.compile(catalog.get(record.process, record.version))

    assert checks.release_problems(world, compiled) == []
    child = "r.send_outreach_email"
    early = EventRecord(child, 2, CLOCK, "system", None, "released")
    broken = replace(world, events={**world.events, child: [*world.events[child], early]})
    [problem] = checks.release_problems(broken, compiled)
    assert problem.startswith(f"task {child} has event 2 (released") and "cs_intake" in problem


def test_overlapping_guards_of_a_timer_trigger_are_reported() -> None:
    """A due timer whose trigger has two transitions enabled at once is reported before the tick."""
    timed = load_text(
        """
id: timed
version: 1
roles:
  agent: {title: Agent}
fields:
  amount: {type: int, default: 5}
states:
  open:
    initial: true
    timers:
      - {name: nudge, after: 1d, trigger: nudge}
  done: {terminal: true}
  late: {terminal: true}
transitions:
  - {trigger: nudge, source: open, dest: done, guard: "amount > 0", roles: [agent]}
  - {trigger: nudge, source: open, dest: late, guard: "amount > 1", roles: [agent]}
""",
        "<timed>",
    ).process
    engine, _ = engine_for(Catalog((timed,)))
    engine.start("timed", id="t1")
    world = checks.snapshot(engine.store)
    compiled = engine.definitions.compile
    assert checks.timer_overlaps(world, lambda r: compiled(timed), CLOCK) == []
    [problem] = checks.timer_overlaps(world, lambda r: compiled(timed), CLOCK + timedelta(days=1))
    assert problem.startswith("2 transitions of 'nudge' from 'open' are enabled at once by timer")
