"""A worker embedded in an application: on a thread of its own or as an asyncio task."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from datetime import timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.worker import Worker
from runtime_support import CLIENT, OPS


def test_a_worker_runs_on_a_thread_and_stops_when_asked(engine: Engine, clock: ManualClock) -> None:
    """Off the main thread: no signal handler installed, due timers fire, stop() ends it."""
    engine.start("access", CLIENT, id="a-1", **OPS)
    engine.fire("a-1", "begin", **OPS)
    clock.advance(timedelta(days=8))
    lines: list[str] = []
    worker = Worker(engine, poll=60, echo=lines.append)
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 10
    while not any("next_call_due" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.01)
    began = time.monotonic()
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - began < 5  # the 60 s poll sleep was cut short
    assert lines[-1] == "worker stopped"
    assert [e.kind for e in engine.history("a-1")].count("timer") == 1


def test_a_worker_as_an_asyncio_task_leaves_the_loop_free_and_stops_on_cancel(
    engine: Engine, clock: ManualClock
) -> None:
    """run_async: the loop keeps running while the worker polls; cancelling stops the worker."""
    engine.start("access", CLIENT, id="a-1", **OPS)
    engine.fire("a-1", "begin", **OPS)
    clock.advance(timedelta(days=8))
    lines: list[str] = []
    worker = Worker(engine, poll=60, echo=lines.append)

    async def main() -> int:
        task = asyncio.create_task(worker.run_async())
        beats = 0
        while not any("next_call_due" in line for line in lines):
            await asyncio.sleep(0.01)
            beats += 1
        for _ in range(5):
            await asyncio.sleep(0.01)
            beats += 1
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return beats

    beats = asyncio.run(asyncio.wait_for(main(), 20))
    assert beats >= 5
    assert worker.stopping and lines[-1] == "worker stopped"
    assert [e.kind for e in engine.history("a-1")].count("timer") == 1
