"""`AsyncEngine`: the engine for asyncio applications, without blocking their event loop.

Every call runs the synchronous `Engine` call on a worker thread (`asyncio.to_thread`) and
promises what that call promises; the engine is safe to share between threads (each call is
its own store transaction), so concurrent awaits are concurrent calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from ..messages.adapters import DeliveryAdapter
from ..store.base import EventRecord, OutboxRecord
from .engine import Engine
from .listening import EventPage
from .views import Fired, InstanceView, JobView, QueueView, VerifyReport

__all__ = ["AsyncEngine"]

_T = TypeVar("_T")


class AsyncEngine:
    """Awaitable calls on an `Engine` (`engine.sync` is the engine itself)."""

    def __init__(self, engine: Engine) -> None:
        self.sync = engine

    async def _run(self, call: Callable[[], _T]) -> _T:
        return await asyncio.to_thread(call)

    async def start(
        self, process_id: str, data: Mapping[str, Any] | None = None, **options: Any
    ) -> InstanceView:
        """`Engine.start`."""
        return await self._run(partial(self.sync.start, process_id, data, **options))

    async def fire(
        self,
        instance_id: str,
        trigger: str,
        data: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> InstanceView:
        """`Engine.fire` (actor, role, expected_rev, idempotency_key as keywords)."""
        return await self._run(partial(self.sync.fire, instance_id, trigger, data, **options))

    async def tick(self, now: datetime | None = None) -> list[Fired]:
        """`Engine.tick`."""
        return await self._run(partial(self.sync.tick, now))

    async def deliver(self, adapter: DeliveryAdapter | None = None) -> list[OutboxRecord]:
        """`Engine.deliver`."""
        return await self._run(partial(self.sync.deliver, adapter))

    async def show(self, instance_id: str) -> InstanceView:
        """`Engine.show`."""
        return await self._run(partial(self.sync.show, instance_id))

    async def history(self, instance_id: str) -> list[EventRecord]:
        """`Engine.history`."""
        return await self._run(partial(self.sync.history, instance_id))

    async def queue(self, name: str | None = None) -> QueueView:
        """`Engine.queue`."""
        return await self._run(partial(self.sync.queue, name))

    async def outbox(self, status: str | None = None) -> list[OutboxRecord]:
        """`Engine.outbox`."""
        return await self._run(partial(self.sync.outbox, status))

    async def verify(self, instance_id: str | None = None, *, full: bool = False) -> VerifyReport:
        """`Engine.verify`."""
        return await self._run(partial(self.sync.verify, instance_id, full=full))

    async def fetch_jobs(self, type: str, **options: Any) -> list[JobView]:
        """`Engine.fetch_jobs` (worker, lease_seconds, max as keywords)."""
        return await self._run(partial(self.sync.fetch_jobs, type, **options))

    async def complete_job(
        self, job_id: int, data: Mapping[str, Any] | None = None, **options: Any
    ) -> InstanceView:
        """`Engine.complete_job` (worker, attempt as keywords)."""
        return await self._run(partial(self.sync.complete_job, job_id, data, **options))

    async def fail_job(self, job_id: int, message: str, **options: Any) -> JobView:
        """`Engine.fail_job` (retry_in, worker, attempt as keywords)."""
        return await self._run(partial(self.sync.fail_job, job_id, message, **options))

    async def events_since(self, cursor: str | None = None, **options: Any) -> EventPage:
        """`Engine.events_since`."""
        return await self._run(partial(self.sync.events_since, cursor, **options))
