"""The long-running loop behind `fulfil worker`: fire due timers, deliver the outbox, sleep.

A stop request (SIGTERM or SIGINT, or `Worker.stop()`) is only noted: the engine is asked
between two firings or two deliveries whether to stop, so the transaction under way always
finishes and nothing is cut in half. The loop then ends instead of sleeping.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import FrameType

from .delivery import DeliveryAdapter
from .errors import ConflictError, StoreError
from .runtime.engine import Engine
from .runtime.views import Fired
from .store.base import OutboxRecord

__all__ = ["Worker", "delivered_line", "fired_line"]

_SLICE = 0.1  # seconds: how often a sleeping worker looks at its stop flag


def fired_line(fired: Fired) -> str:
    """One printed line per fired timer."""
    outcome = f"refused: {fired.refused}" if fired.refused else f"-> {fired.state}"
    return f"{fired.at.isoformat()} {fired.instance} {fired.timer} ({fired.trigger}) {outcome}"


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
    """

    def __init__(
        self,
        engine: Engine,
        *,
        adapter: DeliveryAdapter | None,
        poll: float,
        echo: Callable[[str], None],
    ) -> None:
        self.engine = engine
        self.adapter = adapter
        self.poll = poll
        self.echo = echo
        self.stopping = False

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the loop to end after the transaction under way (also the signal handler)."""
        self.stopping = True

    def round(self) -> int:
        """One tick and one delivery pass; returns how many timers and messages it handled.

        A tick or delivery pass that fails on the database (busy, unreachable, or a race lost
        through every retry) is reported and left to the next round: what committed stays
        committed, what did not is still pending, and the worker keeps running.
        """
        fired: list[Fired] = []
        try:
            fired = self.engine.tick(stop=lambda: self.stopping)
        except (ConflictError, StoreError) as exc:
            self.echo(f"tick stopped, retried next round: {exc}")
        for item in fired:
            self.echo(fired_line(item))
        sent: list[OutboxRecord] = []
        if self.adapter is not None and not self.stopping:
            try:
                sent = self.engine.deliver(self.adapter, stop=lambda: self.stopping)
            except (ConflictError, StoreError) as exc:
                self.echo(f"delivery stopped, retried next round: {exc}")
            for message in sent:
                self.echo(delivered_line(message))
        return len(fired) + len(sent)

    def run(self, *, once: bool = False) -> None:
        """Loop until stopped (or one round with `once`), SIGTERM/SIGINT stopping gracefully."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                self.round()
                if once:
                    break
                deadline = time.monotonic() + self.poll
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(min(_SLICE, max(0.0, deadline - time.monotonic())))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.echo("worker stopped")
