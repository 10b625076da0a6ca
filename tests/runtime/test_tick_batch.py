"""`tick` fires due timers of different instances several to a transaction (one commit, one
fsync for all), each firing still all or nothing on its own; nothing is lost or fired twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import ConflictError, ExecutionError, UsageError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store, TimerRecord
from fulfil.engine.store.base import Transaction
from fulfil.engine.store.postgres import PostgresStore
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(days=2)
PROCESS = """
id: waiter
version: 1
fields:
  n: {type: int, default: 0}
states:
  waiting:
    initial: true
    timers:
      - {name: nudge, after: 1d, trigger: nudge}
  nudged: {}
  closed: {terminal: true}
transitions:
  - trigger: nudge
    source: waiting
    dest: nudged
    actions:
      - set: {n: "n + 1"}
  - trigger: again
    source: nudged
    dest: nudged
    actions:
      - set: {n: "n + 1"}
  - trigger: close
    source: nudged
    dest: closed
"""


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param != "postgres":
        made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "t.db")
        yield made
        made.close()
        return
    require_server()
    schema = new_schema()
    postgres = PostgresStore(with_schema(URL, schema))
    postgres.upgrade()
    yield postgres
    postgres.close()
    drop_schema(schema)


def _engine(store: Store, batch: int = 5, **kwargs: Any) -> Engine:
    catalog = Catalog((load_text(PROCESS, "waiter.yaml").process,))
    return Engine(catalog, store=store, clock=ManualClock(T0), tick_batch=batch, **kwargs)


def _waiting(engine: Engine, count: int) -> list[str]:
    """`count` instances, each with its `nudge` timer due one day after T0, in this order."""
    ids = []
    for n in range(count):
        engine.clock.set(T0 + timedelta(seconds=n))  # type: ignore[attr-defined]
        ids.append(engine.start("waiter", id=f"w-{n:02}").id)
    return ids


def _count_transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the store's transactions from now on (each one commit)."""
    opened = [0]
    original = store.transaction

    @contextmanager
    def counting(*, write: bool = True) -> Iterator[Transaction]:
        opened[0] += 1
        with original(write=write) as tx:
            yield tx

    monkeypatch.setattr(store, "transaction", counting)
    return opened


def _fail_on(engine: Engine, monkeypatch: pytest.MonkeyPatch, instance: str, error: Exception):
    """The firing of `instance`'s timer writes its step, then raises `error` (once)."""
    original = engine.executor.fire
    left = [1]

    def failing(tx: Transaction, target: str, *args: Any, **kwargs: Any) -> Any:
        outcome = original(tx, target, *args, **kwargs)
        if target == instance and left[0]:
            left[0] -= 1
            raise error
        return outcome

    monkeypatch.setattr(engine.executor, "fire", failing)


def _timer_events(engine: Engine, instance: str) -> int:
    return sum(1 for e in engine.history(instance) if e.kind == "timer")


def test_a_tick_fires_up_to_a_batch_of_timers_per_transaction(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """12 due timers, batches of 5: three transactions (5, 5, 2), every timer fired once, in due
    order, every history whole."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 12)
    opened = _count_transactions(store, monkeypatch)
    fired = engine.tick(DUE)
    assert opened == [3]
    assert [f.instance for f in fired] == ids
    assert all(f.refused is None and f.state == "nudged" for f in fired)
    assert all(engine.show(i).data["n"] == 1 and _timer_events(engine, i) == 1 for i in ids)
    assert engine.tick(DUE) == []
    assert engine.verify().ok


def test_one_transaction_per_timer_when_the_batch_is_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tick_batch=1` is the one-transaction-per-timer tick: 4 timers, 5 transactions (the
    last finds nothing due)."""
    engine = _engine(store, batch=1)
    ids = _waiting(engine, 4)
    opened = _count_transactions(store, monkeypatch)
    assert [f.instance for f in engine.tick(DUE)] == ids
    assert opened == [5]


def test_a_batch_never_holds_two_firings_of_one_instance(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timers due in the order A, B, A: the batch ends before A's second timer, which fires in
    the next, so each instance's firings stay one after the other in due order."""
    engine = _engine(store, batch=5)
    first, second = _waiting(engine, 2)
    with store.transaction() as tx:
        later = T0 + timedelta(days=1, hours=1)
        tx.add_timer(TimerRecord(first, "extra", "nudged", "again", later, T0))
    opened = _count_transactions(store, monkeypatch)
    fired = engine.tick(DUE)
    assert [(f.instance, f.trigger) for f in fired] == [
        (first, "nudge"),
        (second, "nudge"),
        (first, "again"),
    ]
    assert opened == [2]
    assert engine.show(first).data["n"] == 2 and engine.verify().ok


def test_a_refused_firing_is_undone_alone_and_recorded_in_the_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third firing of a batch fails in the process after writing its step: its writes
    are undone, a `refused` event records why, the others fire, all in one transaction."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 5)
    _fail_on(engine, monkeypatch, ids[2], ExecutionError("the action failed"))
    opened = _count_transactions(store, monkeypatch)
    fired = engine.tick(DUE)
    assert opened == [2]  # the batch of five, and the tick that finds nothing due
    assert [(f.instance, f.refused) for f in fired] == [
        (i, "the action failed" if i == ids[2] else None) for i in ids
    ]
    refused = engine.show(ids[2])
    assert (refused.state, refused.data["n"]) == ("waiting", 0)
    assert [e.kind for e in engine.history(ids[2])][-1] == "refused"
    assert all(engine.show(i).state == "nudged" for i in ids if i != ids[2])
    assert engine.tick(DUE) == []  # refused timers are spent, not retried
    assert engine.verify().ok  # the undone firing's place in the store-wide sequence came back


def test_steps_after_a_batch_that_undid_a_firing_are_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch undoes a refused firing to its savepoint (on PostgreSQL this drops the
    connection's prepared statements): the steps fired after it on the same store are written
    whole, each once."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 3)
    _fail_on(engine, monkeypatch, ids[1], ExecutionError("the action failed"))
    assert [f.refused is not None for f in engine.tick(DUE)] == [False, True, False]
    engine.clock.set(DUE)  # type: ignore[attr-defined]
    for _ in range(3):
        for instance in (ids[0], ids[2]):
            engine.fire(instance, "again")
    engine.fire(ids[0], "close")
    assert [engine.show(i).data["n"] for i in ids] == [4, 0, 4]
    assert engine.show(ids[0]).state == "closed"
    assert engine.verify().ok


def test_a_lost_race_in_a_batch_is_fired_again_alone(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A firing that lost a race is undone to its savepoint; the batch commits the two before
    it, the lost one fires alone (its retry), and the rest in the next batch: each once."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 5)
    _fail_on(engine, monkeypatch, ids[2], ConflictError("instance changed since it was read"))
    opened = _count_transactions(store, monkeypatch)
    fired = engine.tick(DUE)
    assert [f.instance for f in fired] == ids
    assert opened == [3]  # the first two, the lost one alone, the last two
    assert all(engine.show(i).data["n"] == 1 and _timer_events(engine, i) == 1 for i in ids)
    assert engine.verify().ok


def test_an_error_in_a_batch_keeps_the_firings_before_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error in the third firing: the two before it commit, the error comes out
    of `tick` as it did with one transaction per timer, and the next tick fires the rest."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 5)
    original = engine.executor.fire
    broken = [2]  # the batch's try and the try alone

    def failing(tx: Transaction, target: str, *args: Any, **kwargs: Any) -> Any:
        outcome = original(tx, target, *args, **kwargs)
        if target == ids[2] and broken[0]:
            broken[0] -= 1
            raise RuntimeError("a bug")
        return outcome

    monkeypatch.setattr(engine.executor, "fire", failing)
    with pytest.raises(RuntimeError, match="a bug"):
        engine.tick(DUE)
    assert [engine.show(i).state for i in ids] == ["nudged"] * 2 + ["waiting"] * 3
    assert _timer_events(engine, ids[2]) == 0
    assert [f.instance for f in engine.tick(DUE)] == ids[2:]
    assert all(_timer_events(engine, i) == 1 for i in ids)
    assert engine.verify().ok


def test_stop_is_asked_between_the_firings_of_a_batch(store: Store) -> None:
    """The worker's graceful stop ends a batch after the firing under way, committing it."""
    engine = _engine(store, batch=5)
    ids = _waiting(engine, 5)
    asked = [0]

    def stop() -> bool:
        asked[0] += 1
        return asked[0] > 3

    fired = engine.tick(DUE, stop=stop)
    assert [f.instance for f in fired] == ids[:3]
    assert [f.instance for f in engine.tick(DUE)] == ids[3:]


def test_the_batch_is_at_least_one(store: Store) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        _engine(store, batch=0)


CRASH = """
import os, sys
from datetime import timedelta
sys.path[:0] = [{tests!r}, {root!r}]
from test_tick_batch import DUE, _engine
from fulfil.engine.store import SQLiteStore

calls = []

def hook(context):
    calls.append(context)
    if len(calls) == 3:
        os._exit(3)  # the power goes in the middle of a batch

engine = _engine(SQLiteStore({path!r}, synchronous="full"), batch=5, step_hooks=[hook])
engine.tick(DUE)
"""


def test_a_crash_in_the_middle_of_a_batch_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """The process dies at the third firing of a batch: none of the batch's firings stays,
    every timer is pending again, and the next tick fires each exactly once."""
    path = tmp_path / "crash.db"
    engine = _engine(SQLiteStore(path, synchronous="full"), batch=5)
    ids = _waiting(engine, 7)
    engine.store.close()
    here = Path(__file__).parent
    script = CRASH.format(tests=str(here), root=str(here.parent), path=str(path))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False)
    assert done.returncode == 3
    engine = _engine(SQLiteStore(path, synchronous="full"), batch=5)
    assert [engine.show(i).state for i in ids] == ["waiting"] * 7
    assert [f.instance for f in engine.tick(DUE)] == ids
    assert all(_timer_events(engine, i) == 1 for i in ids)
    assert engine.verify().ok
    engine.store.close()
