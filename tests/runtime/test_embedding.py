"""The embedding surface: expected revisions, idempotency keys, step hooks, no inline delivery."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog
from fulfil.engine.errors import AlreadyExists, ConflictError, UsageError
from fulfil.engine.runtime import AsyncEngine, Engine, StepContext
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from fulfil.engine.store.base import OutboxRecord
from runtime_support import CLIENT, OPS

NO_ANSWER = {"outcome": "no_answer"}


def begun(engine: Engine) -> int:
    engine.start("access", CLIENT, id="a-1", **OPS)
    return engine.fire("a-1", "begin", **OPS).rev


def test_expected_rev_that_moved_is_a_conflict_with_both_revisions(engine: Engine) -> None:
    """A fire against a revision the instance has left is refused, nothing stored."""
    rev = begun(engine)
    engine.fire("a-1", "log_call", NO_ANSWER, expected_rev=rev, **OPS)
    before = engine.history("a-1")
    with pytest.raises(ConflictError) as info:
        engine.fire("a-1", "log_call", NO_ANSWER, expected_rev=rev, **OPS)
    assert info.value.code == "conflict"
    assert info.value.details == {"instance": "a-1", "expected": rev, "actual": rev + 1}
    assert engine.history("a-1") == before


def test_an_idempotency_key_steps_once_and_returns_the_instance(engine: Engine) -> None:
    """A repeated fire with the same key adds no step, no second message."""
    begun(engine)
    first = engine.fire("a-1", "log_call", NO_ANSWER, idempotency_key="click-1", **OPS)
    again = engine.fire("a-1", "log_call", NO_ANSWER, idempotency_key="click-1", **OPS)
    assert again == first
    assert first.data["attempt"] == 1
    assert len(engine.outbox()) == 1
    other = engine.fire("a-1", "log_call", NO_ANSWER, idempotency_key="click-2", **OPS)
    assert other.data["attempt"] == 2


def test_an_idempotency_key_survives_a_restart(
    catalog: Catalog, clock: ManualClock, tmp_path: Path
) -> None:
    """The key is stored with the step: a new engine on the same file still finds it."""
    first = Engine(catalog, store=SQLiteStore(tmp_path / "f.db"), clock=clock)
    begun(first)
    first.fire("a-1", "log_call", NO_ANSWER, idempotency_key="k", **OPS)
    first.store.close()
    second = Engine(catalog, store=SQLiteStore(tmp_path / "f.db"), clock=clock)
    assert (
        second.fire("a-1", "log_call", NO_ANSWER, idempotency_key="k", **OPS).data["attempt"] == 1
    )
    second.store.close()


def test_concurrent_duplicates_of_one_key_make_exactly_one_step(engine: Engine) -> None:
    """Eight threads firing with one key: one step, every caller gets the instance."""
    begun(engine)
    views: list[Any] = []
    gate = threading.Barrier(8)

    def click() -> None:
        gate.wait()
        views.append(engine.fire("a-1", "log_call", NO_ANSWER, idempotency_key="k", **OPS))

    threads = [threading.Thread(target=click) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [v.data["attempt"] for v in views] == [1] * 8
    steps = [e for e in engine.history("a-1") if e.kind == "transition"]
    assert [e.trigger for e in steps] == ["begin", "log_call"]


def test_a_step_hook_writes_the_applications_rows_in_the_steps_transaction(
    catalog: Catalog, clock: ManualClock, tmp_path: Path
) -> None:
    """SQLite: the hook's row commits with the step; a failing hook rolls both back."""
    path = tmp_path / "f.db"
    seen: list[StepContext] = []

    def mirror(step: StepContext) -> None:
        seen.append(step)
        step.cursor.execute(
            "INSERT INTO app_calls (instance, state, rev) VALUES (?, ?, ?)",
            (step.instance.id, step.instance.state, step.instance.rev),
        )
        if step.instance.data.get("outcome") == "left_voicemail":
            raise RuntimeError("the CRM refused the row")

    store = SQLiteStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE app_calls (instance TEXT, state TEXT, rev INTEGER)")
    engine = Engine(catalog, store=store, clock=clock, step_hooks=[mirror])
    begun(engine)
    engine.fire("a-1", "log_call", NO_ANSWER, **OPS)
    before = engine.show("a-1")
    with pytest.raises(RuntimeError, match="CRM"):
        engine.fire("a-1", "log_call", {"outcome": "left_voicemail"}, **OPS)
    store.close()
    assert [(s.call, s.trigger) for s in seen] == [
        ("start", None),
        ("fire", "begin"),
        ("fire", "log_call"),
        ("fire", "log_call"),
    ]
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT instance, state, rev FROM app_calls ORDER BY rev").fetchall()
    assert rows == [("a-1", "new", 1), ("a-1", "in_progress", 2), ("a-1", "in_progress", 3)]
    again = Engine(catalog, store=SQLiteStore(path), clock=clock)
    assert again.show("a-1") == before
    assert len(again.outbox()) == 1  # the refused step queued no message
    again.store.close()


def test_a_failing_hook_stores_nothing_in_memory(engine: Engine, store: Store) -> None:
    """Memory and SQLite alike: a raising hook leaves no instance, event or message."""
    engine.step_hooks = (lambda step: (_ for _ in ()).throw(ValueError("no")),)
    with pytest.raises(ValueError):
        engine.start("access", CLIENT, id="a-1", **OPS)
    with store.transaction(write=False) as tx:
        assert tx.get_instance("a-1") is None
        assert tx.events("a-1") == []


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[OutboxRecord] = []

    def send(self, message: OutboxRecord) -> None:
        self.sent.append(message)


def test_fire_never_delivers_inline_unless_asked(catalog: Catalog, clock: ManualClock) -> None:
    """An adapter on the engine is the default of deliver(); fire only queues, unless inline."""
    adapter = _Recorder()
    engine = Engine(catalog, store=MemoryStore(), clock=clock, delivery=adapter)
    begun(engine)
    engine.fire("a-1", "log_call", NO_ANSWER, **OPS)
    assert adapter.sent == [] and [m.status for m in engine.outbox()] == ["pending"]
    engine.deliver()
    assert len(adapter.sent) == 1
    inline = Engine(
        catalog, store=MemoryStore(), clock=clock, delivery=adapter, deliver_inline=True
    )
    begun(inline)
    inline.fire("a-1", "log_call", NO_ANSWER, **OPS)
    assert len(adapter.sent) == 2


def test_errors_carry_a_stable_code_and_details(engine: Engine) -> None:
    """An existing id is AlreadyExists (a UsageError, exit 2) with the id in its details."""
    begun(engine)
    with pytest.raises(AlreadyExists) as info:
        engine.start("access", CLIENT, id="a-1", **OPS)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    assert (info.value.code, info.value.details) == ("already_exists", {"instance": "a-1"})
    with pytest.raises(UsageError) as misuse:
        engine.deliver()
    assert misuse.value.code == "usage" and not isinstance(misuse.value, AlreadyExists)


def test_async_engine_does_not_block_the_loop(engine: Engine) -> None:
    """A slow step (a hook sleeping 0.3 s) runs off the loop: a heartbeat keeps beating."""

    def slow(step: StepContext) -> None:
        time.sleep(0.3)

    engine.step_hooks = (slow,)
    aengine = AsyncEngine(engine)

    async def main() -> tuple[int, str]:
        beats = 0
        done = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal beats
            while not done.is_set():
                await asyncio.sleep(0.01)
                beats += 1

        beating = asyncio.create_task(heartbeat())
        await aengine.start("access", CLIENT, id="r-1", **OPS)
        done.set()
        await beating
        return beats, (await aengine.show("r-1")).id

    beats, shown = asyncio.run(main())
    assert shown == "r-1"
    assert beats >= 5
