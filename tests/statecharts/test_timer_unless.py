"""A timer with `unless`: its condition is read when the timer comes due; when it holds the
timer is spent without firing (a `spent` event), a recurring one waits for its next time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fulfil.engine.checking import explore
from fulfil.engine.checking.timing import dominated_timers
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.render.dot import render_dot
from fulfil.engine.render.mermaid import render_mermaid
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.compiled import CompiledProcess
from fulfil.engine.runtime.verify import Tally, verify_instance
from fulfil.engine.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

CHASE = """
id: chase
version: 1
roles:
  agent: {title: Agent, contact: "agent@example.com"}
fields:
  replied: {type: bool, default: false}
  chased: {type: int, default: 0}
states:
  waiting:
    initial: true
    status: Waiting
    timers:
      - name: chase
        after: 24h
        unless: replied
        trigger: chase
      - name: digest
        every: {every: weekly, weekday: fri, at: "08:00", timezone: UTC}
        unless: "chased >= 1"
        trigger: digest
  chasing:
    status: Chasing
  done:
    terminal: true
    status: Closed
    closure_reason: Complete
transitions:
  - {trigger: reply, source: waiting, input: [replied], roles: [agent]}
  - {trigger: chase, source: waiting, dest: chasing, actions: [{set: {chased: "chased + 1"}}]}
  - {trigger: digest, source: waiting, actions: [{set: {chased: "chased + 1"}}]}
  - {trigger: finish, source: [waiting, chasing], dest: done, roles: [agent]}
"""


def engine_on(store: Store, clock: ManualClock, text: str = CHASE) -> Engine:
    return Engine(Catalog((load_text(text, "chase.yaml").process,)), store=store, clock=clock)


def test_a_timer_whose_unless_holds_when_due_is_spent_and_verify_replays_it(
    store: Store,
) -> None:
    clock = ManualClock(T0)
    engine = engine_on(store, clock)
    instance = engine.start("chase").id
    engine.fire(instance, "reply", {"replied": True}, actor="ann", role="agent")
    clock.advance(timedelta(hours=25))
    engine.tick()
    view = engine.show(instance)
    assert view.state == "waiting"
    assert view.data["chased"] == 0
    assert "chase" not in [t.name for t in view.timers]  # spent: not armed again
    spent = [e for e in engine.history(instance) if e.kind == "spent"]
    assert [(e.trigger, e.source, e.dest, e.detail["timer"]) for e in spent] == [
        ("chase", "waiting", None, "chase")
    ]
    assert spent[0].detail["unless"] == "replied"
    assert spent[0].at == T0 + timedelta(hours=24)
    assert engine.verify(instance).ok


def test_a_timer_whose_unless_is_false_when_due_fires(store: Store) -> None:
    clock = ManualClock(T0)
    engine = engine_on(store, clock)
    instance = engine.start("chase").id
    clock.advance(timedelta(hours=25))
    engine.tick()
    view = engine.show(instance)
    assert view.state == "chasing"
    assert not [e for e in engine.history(instance) if e.kind == "spent"]
    assert engine.verify(instance).ok


def test_unless_is_read_when_due_not_when_armed(store: Store) -> None:
    """Replied, then the reply withdrawn before the due time: the timer fires."""
    clock = ManualClock(T0)
    engine = engine_on(store, clock)
    instance = engine.start("chase").id
    engine.fire(instance, "reply", {"replied": True}, actor="ann", role="agent")
    clock.advance(timedelta(hours=2))
    engine.fire(instance, "reply", {"replied": False}, actor="ann", role="agent")
    clock.advance(timedelta(hours=23))
    engine.tick()
    assert engine.show(instance).state == "chasing"


def test_a_spent_recurring_timer_is_armed_for_its_next_time(store: Store) -> None:
    clock = ManualClock(T0)  # Monday 09:00: the digest is due on Friday 08:00
    text = CHASE.replace("after: 24h", "after: 30d")
    engine = engine_on(store, clock, text)
    instance = engine.start("chase").id
    clock.advance(timedelta(days=4))
    engine.tick()  # the digest fires: chased = 1
    assert engine.show(instance).data["chased"] == 1
    clock.advance(timedelta(days=7))
    engine.tick()  # now its `unless` holds: spent, and armed for the Friday after
    view = engine.show(instance)
    assert view.data["chased"] == 1
    assert [t.due_at for t in view.timers if t.name == "digest"] == [
        datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    ]
    assert [e.kind for e in engine.history(instance) if e.trigger == "digest"] == [
        "timer",
        "spent",
    ]
    assert engine.verify(instance).ok


def test_a_persons_event_after_the_due_time_meets_the_spent_timer_first(store: Store) -> None:
    """Catching up before a person's event spends the timer as a tick would have."""
    clock = ManualClock(T0)
    engine = engine_on(store, clock)
    instance = engine.start("chase").id
    engine.fire(instance, "reply", {"replied": True}, actor="ann", role="agent")
    clock.advance(timedelta(days=3))
    engine.fire(instance, "finish", None, actor="ann", role="agent")
    kinds = [e.kind for e in engine.history(instance) if e.kind in ("spent", "transition")]
    assert kinds == ["transition", "spent", "transition"]
    assert engine.verify(instance).ok


@pytest.mark.parametrize(
    ("unless", "message"),
    [
        ("replyed", "unknown name 'replyed'"),
        ("chased + 1", "bool"),
    ],
)
def test_a_bad_unless_is_refused_at_its_place(unless: str, message: str) -> None:
    text = CHASE.replace("unless: replied", f'unless: "{unless}"')
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "chase.yaml")
    problems = [p for p in caught.value.problems if message in p.message]
    assert problems, caught.value.problems
    line = text.splitlines().index(f'        unless: "{unless}"') + 1
    assert problems[0].location.line == line
    if unless == "replyed":
        assert problems[0].hint == "did you mean 'replied'?"


REMIND = """
id: remind
version: 1
roles:
  agent: {title: Agent, contact: "agent@example.com"}
fields:
  replied: {type: bool, default: false}
states:
  waiting:
    initial: true
    status: Waiting
    timers:
      - {name: chase, after: 24h, unless: replied, trigger: chase}
  chasing:
    status: Chasing
  done:
    terminal: true
    status: Closed
    closure_reason: Complete
transitions:
  - {trigger: reply, source: waiting, input: [replied], roles: [agent]}
  - {trigger: chase, source: waiting, dest: chasing}
  - {trigger: finish, source: chasing, dest: done, roles: [agent]}
EXIT
"""


def test_check_finds_no_trap_where_a_person_acts_after_a_spent_timer() -> None:
    exit_ = "  - {trigger: close, source: waiting, dest: done, roles: [agent]}"
    report = explore(load_text(REMIND.replace("EXIT", exit_), "remind.yaml").process)
    assert [f.kind for f in report.findings] == []
    assert report.exhausted


def test_check_takes_a_spent_timer_as_the_runtime_does() -> None:
    """The only way out of `waiting` is the chase; after a reply it is spent: a trap, shown by
    a start already replied and the time passing (firing it regardless would hide the trap)."""
    report = explore(load_text(REMIND.replace("EXIT", ""), "remind.yaml").process)
    traps = [f for f in report.findings if f.kind == "trap"]
    assert len(traps) == 1
    assert "'waiting'" in traps[0].message
    assert traps[0].scenario is not None
    assert traps[0].scenario["steps"] == [
        {"start": {"data": {"replied": True}}, "as": "checker:agent"},
        {"advance": "1d"},
        {"tick": True},
        {"expect": {"state": "waiting"}},
    ]


def test_diagrams_show_the_condition_on_the_timer_edge() -> None:
    process = load_text(REMIND.replace("EXIT", ""), "remind.yaml").process
    assert "waiting --> chasing : timer 1d chase [unless replied] → chase" in render_mermaid(
        process
    )
    edge = next(
        line for line in render_dot(process).splitlines() if '"waiting" -> "chasing"' in line
    )
    assert "[unless replied]" in edge.replace("\\n", " ")


def test_verify_reports_a_spent_event_the_definition_cannot_give(store: Store) -> None:
    """A `spent` event naming a timer without `unless` (a forged or mistaken history)."""
    clock = ManualClock(T0)
    engine = engine_on(store, clock)
    instance = engine.start("chase").id
    engine.fire(instance, "reply", {"replied": True}, actor="ann", role="agent")
    clock.advance(timedelta(hours=25))
    engine.tick()
    assert engine.verify(instance).ok
    plain = CompiledProcess(
        load_text(CHASE.replace("        unless: replied\n", ""), "c.yaml").process
    )
    with store.transaction() as tx:
        record = tx.get_instance(instance)
    assert record is not None
    events = engine.history(instance)
    problems = verify_instance(record, events, lambda: plain, engine.executor.keys, Tally())
    assert [p.message for p in problems] == [
        "the definition has no timer 'chase' with `unless` firing 'chase' in 'waiting'"
    ]


def test_a_shorter_timer_with_unless_does_not_pre_empt_a_longer_one() -> None:
    """The 1d chase may be spent; the 7d give-up can then fire: it is not reported as never
    firing, and check sees it fire."""
    give_up = """
      - {name: give_up, after: 7d, trigger: give_up}
  chasing:"""
    text = REMIND.replace("\n  chasing:", give_up, 1).replace(
        "EXIT", "  - {trigger: give_up, source: waiting, dest: done}"
    )
    process = load_text(text, "remind.yaml").process
    assert dominated_timers(process) == []
    report = explore(process)
    assert [f.kind for f in report.findings] == []
