"""Listeners: committed events delivered after commit, at least once, from a durable cursor,
including what the engine does by itself (timers, SLA notices, rules, emits); on every store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_files
from fulfil.engine.errors import UsageError
from fulfil.engine.runtime import Engine, StepContext
from fulfil.engine.runtime.listening import CommittedEvent
from fulfil.engine.store import Store
from fulfil.engine.worker import Worker

TESTS = Path(__file__).parents[1]
OPS: dict[str, Any] = {"actor": "sam", "role": "ops_specialist"}


@pytest.fixture
def catalog() -> Catalog:
    paths = sorted((TESTS / "processes" / "children").glob("*.yaml"))
    paths.append(TESTS / "runtime" / "processes" / "timed.yaml")
    return Catalog(load_files(paths, known_processes=[p.stem for p in paths]).processes)


def kinds_of(seen: list[CommittedEvent], instance: str) -> list[str]:
    return [f"{e.kind}:{e.event.trigger or ''}" for e in seen if e.instance == instance]


def test_timers_rules_and_emits_reach_a_listener_after_commit(
    engine: Engine, clock: ManualClock
) -> None:
    seen: list[CommittedEvent] = []
    engine.subscribe(seen.append)
    engine.start("chain", {"client": "Acme"}, id="c1")
    assert [e.kind for e in seen if e.instance == "c1"] == ["start"]
    tasks = {e.event.detail.get("process"): e.instance for e in seen if e.kind == "start"}
    assert tasks["step_task"]  # the tasks' starts were delivered too
    clock.advance(timedelta(days=1, minutes=1))
    engine.tick()  # the first task's nudge timer: delivered by the tick itself
    nudged = [e for e in seen if e.kind == "timer"]
    assert [e.event.trigger for e in nudged] == ["nudge"]
    first = nudged[0].instance
    engine.fire(first, "decline", {"actions_taken": "called twice"}, **OPS)
    # the rule fires failed_once on the request, which emits close_complete to the tasks
    assert "transition:failed_once" in kinds_of(seen, "c1")
    rule = next(e for e in seen if e.event.trigger == "failed_once")
    assert rule.event.actor == "rule" and rule.process == "chain"
    emitted = [e for e in seen if e.event.trigger == "close_complete"]
    assert emitted and all(e.event.detail.get("emitted_by") == "c1" for e in emitted)
    positions = [(e.event.lane, e.event.pos) for e in seen]
    assert len(set(positions)) == len(positions)  # each event once


def test_an_sla_notice_reaches_a_listener_by_kind(engine: Engine, clock: ManualClock) -> None:
    notices: list[CommittedEvent] = []
    engine.subscribe(notices.append, kinds=["sla"])
    engine.start("timed", {"name": "n"}, id="t1")
    engine.fire("t1", "begin")
    clock.advance(timedelta(days=3))
    engine.tick()
    assert notices and {e.kind for e in notices} == {"sla"}
    assert {e.instance for e in notices} == {"t1"}


def test_filters_by_process_and_kind(engine: Engine) -> None:
    timed: list[CommittedEvent] = []
    starts: list[CommittedEvent] = []
    engine.subscribe(timed.append, process="timed")
    engine.subscribe(starts.append, kinds={"start"}, process=["chain", "timed"])
    engine.start("timed", {"name": "n"}, id="t1")
    engine.fire("t1", "begin")
    engine.start("chain", {"client": "Acme"}, id="c1")
    assert {e.process for e in timed} == {"timed"} and len(timed) == 2
    assert [e.instance for e in starts] == ["t1", "c1"]


def test_a_failing_listener_gets_the_event_again_and_never_fails_the_step(
    engine: Engine,
) -> None:
    seen: list[str] = []
    broken = [True]

    def listener(item: CommittedEvent) -> None:
        if item.instance == "t2" and broken[0]:
            raise RuntimeError("read model down")
        seen.append(item.instance)

    subscription = engine.subscribe(listener)
    engine.start("timed", {"name": "one"}, id="t1")
    engine.start("timed", {"name": "two"}, id="t2")  # committed although the listener failed
    engine.start("timed", {"name": "three"}, id="t3")
    assert engine.show("t3").state == "new"
    assert seen == ["t1"]
    assert isinstance(subscription.error, RuntimeError)
    broken[0] = False
    assert engine.dispatch() == 2
    assert seen == ["t1", "t2", "t3"] and subscription.error is None


def test_a_named_subscription_goes_on_after_a_restart(
    make_engine: Callable[[], Engine], open_store: Callable[[], Store]
) -> None:
    first = make_engine()
    got: list[str] = []
    first.subscribe(lambda e: got.append(e.instance), name="read-model", from_start=True)
    first.start("timed", {"name": "one"}, id="t1")
    assert got == ["t1"]
    # the application stops; meanwhile another process (a worker) commits steps
    other = make_engine()
    other.start("timed", {"name": "two"}, id="t2")
    other.fire("t2", "begin")
    restarted = make_engine()
    again: list[str] = []
    restarted.subscribe(lambda e: again.append(f"{e.instance}:{e.kind}"), name="read-model")
    restarted.dispatch()
    assert again == ["t2:start", "t2:transition"]  # nothing of t1 twice, nothing of t2 lost


def test_a_worker_round_dispatches_what_other_processes_committed(
    make_engine: Callable[[], Engine],
) -> None:
    app = make_engine()
    got: list[str] = []
    app.subscribe(lambda e: got.append(e.instance))
    make_engine().start("timed", {"name": "elsewhere"}, id="t9")
    Worker(app).round()
    assert got == ["t9"]


def test_events_since_pages_with_a_cursor(engine: Engine) -> None:
    for n in range(5):
        engine.start("timed", {"name": f"n{n}"}, id=f"t{n}")
    page = engine.events_since(limit=2)
    assert [e.instance for e in page.events] == ["t0", "t1"]
    rest = engine.events_since(page.cursor)
    assert [e.instance for e in rest.events] == ["t2", "t3", "t4"]
    assert engine.events_since(rest.cursor).events == ()
    assert rest.events[0].to_json()["process"] == "timed"
    with pytest.raises(UsageError, match="not an event cursor"):
        engine.events_since("lane seven")


def test_concurrent_writers_lose_no_event_in_the_feed(
    make_engine: Callable[[], Engine],
) -> None:
    """Writers on their own connections (several lanes on PostgreSQL) while a reader pages:
    every event is read exactly once."""
    engines = [make_engine() for _ in range(4)]
    reader = make_engine()
    done = threading.Event()
    read: list[tuple[str, int]] = []
    cursor: str | None = None

    def write(engine: Engine, n: int) -> None:
        for k in range(10):
            engine.start("timed", {"name": "x"}, id=f"w{n}-{k}")

    threads = [threading.Thread(target=write, args=(e, n)) for n, e in enumerate(engines)]
    for thread in threads:
        thread.start()

    def joiner() -> None:
        for thread in threads:
            thread.join()
        done.set()

    threading.Thread(target=joiner).start()
    while True:
        finished = done.is_set()
        page = reader.events_since(cursor, limit=7)
        read.extend((e.instance, e.event.seq) for e in page.events)
        cursor = page.cursor
        if finished and not page.events:
            break
    assert len(read) == len(set(read)) == 40


def test_step_hooks_run_for_timer_and_sla_steps(
    catalog: Catalog, clock: ManualClock, open_store: Callable[[], Store]
) -> None:
    calls: list[tuple[str, str, str | None]] = []

    def hook(step: StepContext) -> None:
        calls.append((step.call, step.instance.id, step.trigger))

    engine = Engine(catalog, store=open_store(), clock=clock, step_hooks=[hook])
    engine.start("timed", {"name": "n"}, id="t1")
    engine.fire("t1", "begin")
    engine.start("step_task", {"client": "Acme"}, id="s1")
    clock.advance(timedelta(days=3))
    engine.tick()
    assert ("timer", "s1", "nudge") in calls
    assert ("sla", "t1", None) in calls


def test_a_handler_that_fires_a_step_gets_its_events_too(engine: Engine) -> None:
    """A listener reacting with a fire (re-entering the dispatch) neither blocks nor loses or
    doubles an event."""
    seen: list[str] = []

    def react(item: CommittedEvent) -> None:
        seen.append(f"{item.instance}:{item.kind}:{item.event.trigger or ''}")
        if item.kind == "start" and item.instance == "t1":
            engine.fire("t1", "begin")

    engine.subscribe(react)
    engine.start("timed", {"name": "n"}, id="t1")
    assert seen == ["t1:start:", "t1:transition:begin"]
    assert engine.show("t1").state == "working"
