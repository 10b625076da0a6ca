"""The long-running loop behind `fulfil worker`: fire due timers, deliver the outbox, handle
jobs (with `--jobs MODULE`: engine.worker.handlers), sleep.

A stop request (SIGTERM or SIGINT, or `Worker.stop()`) is only noted: the engine is asked
between two firings or two deliveries whether to stop, so the transaction under way always
finishes and nothing is cut in half. The loop then ends instead of sleeping.

A worker runs on the main thread (the CLI), on a thread of an application, or as an asyncio
task (`run_async`, the loop on a thread of its own): it installs signal handlers only on the
main thread, and `stop()` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from ..errors import ConflictError, StoreError
from ..messages.adapters import DeliveryAdapter
from ..runtime.engine import Engine
from ..runtime.text import fired_line
from ..runtime.views import Fired
from ..store.base import OutboxRecord
from .handlers import JobHandlers, default_name

__all__ = ["Worker", "delivered_line", "fired_line"]


def delivered_line(message: OutboxRecord) -> str:
    """One printed line per delivery attempt."""
    error = f": {message.error}" if message.error else ""
    return (
        f"outbox {message.id} [{message.status}] {message.channel} to "
        f"{', '.join(message.to)} (attempt {message.attempts}){error}"
    )


class Worker:
    """Runs `engine.tick()` and `engine.deliver()` until stopped.

    Args:
        engine: the engine (its clock decides what is due).
        adapter: sends the outbox after each tick (None: the worker only fires timers).
        poll: seconds to sleep between rounds.
        echo: where the one-line reports go.
        jobs: job handlers run after each delivery (`handlers`), under leases named `name`.
        log: a logger the same reports go to as records (level, instance, trigger: see
            engine.worker.logs); `fulfil worker` logs through `fulfil.worker`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        adapter: DeliveryAdapter | None = None,
        poll: float = 1.0,
        echo: Callable[[str], None] = lambda line: None,
        jobs: JobHandlers | None = None,
        name: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.engine = engine
        self.log = log
        self.adapter = adapter
        self.jobs = jobs
        self.name = name or default_name()
        self.poll = poll
        self.echo = echo
        self._stop = threading.Event()

    def _report(
        self,
        line: str,
        level: int = logging.INFO,
        instance: str | None = None,
        trigger: str | None = None,
    ) -> None:
        self.echo(line)
        if self.log is not None:
            self.log.log(level, line, extra={"instance": instance, "trigger": trigger})

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to end after the transaction under way (any thread; the signal handler)."""
        self._stop.set()

    def round(self) -> int:
        """One tick, one delivery pass and one round of jobs; returns how many it handled.

        A tick or delivery pass that fails on the database (busy, unreachable, or a race lost
        through every retry) is reported and left to the next round: what committed stays
        committed, what did not is still pending, and the worker keeps running.
        """
        fired: list[Fired] = []
        try:
            fired = self.engine.tick(stop=self._stop.is_set)
        except (ConflictError, StoreError) as exc:
            self._report(f"tick stopped, retried next round: {exc}", logging.WARNING)
        for item in fired:
            level = logging.WARNING if item.refused else logging.INFO
            self._report(fired_line(item), level, item.instance, item.trigger)
        sent: list[OutboxRecord] = []
        if self.adapter is not None and not self.stopping:
            try:
                sent = self.engine.deliver(self.adapter, stop=self._stop.is_set)
            except (ConflictError, StoreError) as exc:
                self._report(f"delivery stopped, retried next round: {exc}", logging.WARNING)
            for message in sent:
                level = logging.INFO if message.status == "sent" else logging.WARNING
                self._report(delivered_line(message), level, message.instance)
        handled = 0
        if self.jobs is not None and not self.stopping:
            try:
                handled = self.jobs.round(
                    self.engine, name=self.name, stop=self._stop.is_set, echo=self._report
                )
            except (ConflictError, StoreError) as exc:
                self._report(f"jobs stopped, retried next round: {exc}", logging.WARNING)
        if self.engine.subscriptions and not self.stopping:
            try:  # steps other processes committed reach this one's listeners
                self.engine.dispatch()
            except (ConflictError, StoreError) as exc:
                self._report(f"listeners stopped, retried next round: {exc}", logging.WARNING)
        return len(fired) + len(sent) + handled

    def run(self, *, once: bool = False) -> None:
        """Loop until stopped (or one round with `once`).

        On the main thread SIGTERM/SIGINT stop it gracefully (the previous handlers come back
        afterwards); on any other thread signals are left alone and `stop()` ends it.
        """
        main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGTERM, signal.SIGINT) if main else ()
        previous = {sig: signal.signal(sig, self.stop) for sig in signals}
        try:
            while not self.stopping:
                self.round()
                if once:
                    break
                self._stop.wait(self.poll)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._report("worker stopped")

    async def run_async(self) -> None:
        """`run` as an asyncio task that never blocks the loop (it runs on a thread).

        Cancelling the task stops the worker after the transaction under way and waits for
        it to end before the cancellation goes on.
        """
        runner = asyncio.ensure_future(asyncio.to_thread(self.run))
        try:
            await asyncio.shield(runner)
        except asyncio.CancelledError:
            self.stop()
            await runner
            raise
