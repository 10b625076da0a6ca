"""Sending outbox messages for `Engine.deliver`: lease, send, record, with retry and backoff.

Each message is leased in its own transaction (so two workers never send it both), sent, and
its outcome stored in another transaction right after the server answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from ..clock.clocks import Clock
from ..clock.durations import backoff
from ..errors import DeliveryError
from ..frozen import frozen
from ..store.base import OutboxRecord, Store
from .adapters import DeliveryAdapter

__all__ = ["MAX_DELIVERIES", "MAX_DELIVERY_ATTEMPTS", "SEND_LEASE", "Deliverer"]

MAX_DELIVERIES = 100_000  # per deliver() call
MAX_DELIVERY_ATTEMPTS = 10  # with backoff 1m, 2m, 4m ... 1h: about 5 hours of retrying
SEND_LEASE = timedelta(minutes=10)  # a message being sent is retried after this if not marked


@frozen(slots=True)
class Deliverer:
    """One `Engine.deliver`: the outbox of `store` sent through `adapter`, timed by `clock`."""

    store: Store
    clock: Clock
    adapter: DeliveryAdapter

    def deliver(self, stop: Callable[[], bool] | None = None) -> list[OutboxRecord]:
        """Send the messages due now, each leased, sent and recorded; `stop` asked before each."""
        done: list[OutboxRecord] = []
        after = 0
        for _ in range(MAX_DELIVERIES):
            if stop is not None and stop():
                break
            now = self.clock.now()
            with self.store.transaction() as tx:
                message = tx.claim_outbox(now, now + SEND_LEASE, after)
            if message is None or message.id is None:
                break
            after = message.id
            done.append(self._send(message))
        return done

    def _send(self, message: OutboxRecord) -> OutboxRecord:
        attempts = message.attempts + 1
        try:
            self.adapter.send(message)
        except Exception as exc:  # any adapter failure is recorded; retried unless permanent
            retry = not isinstance(exc, DeliveryError) or exc.retryable
            if retry and attempts < MAX_DELIVERY_ATTEMPTS:
                later = self.clock.now() + backoff(attempts)
                result = replace(
                    message,
                    status="pending",
                    attempts=attempts,
                    error=str(exc),
                    next_attempt_at=later,
                )
            else:
                result = replace(
                    message,
                    status="failed",
                    attempts=attempts,
                    error=str(exc),
                    next_attempt_at=None,
                )
        else:
            result = replace(
                message,
                status="sent",
                attempts=attempts,
                error="",
                delivered_at=self.clock.now(),
                next_attempt_at=None,
            )
        with self.store.transaction() as tx:
            tx.update_outbox(result)
        return result
