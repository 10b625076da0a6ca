"""Job handlers in Python: register a function per job type, run them in a worker.

    from fulfil.engine.worker import RetryLater, worker

    @worker("crm.create_task")
    def create_task(job):
        task = crm.create_task(job.payload, idempotency_key=job.key)
        return {"crm_task": task.id}          # the result: data of the completion trigger

A handler gets the fetched `JobView` (`payload`, `key`, `attempt`, `instance`) and returns the
result data (a mapping, or None for none). What it raises fails the job with the exception's
text: retried with backoff while retries are left, else an incident. `RetryLater(message,
retry_in=SECONDS)` names the delay. `JobHandlers.round` fetches each registered type's jobs
and handles them one by one; `fulfil worker --jobs MODULE` (engine.worker.Worker) runs it in
its loop beside the timers and the outbox.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import ConflictError, ExecutionError, JobRefused, StoreError
from ..runtime.engine import Engine
from ..runtime.views import JobView

__all__ = ["REGISTRY", "Handler", "JobHandlers", "RetryLater", "worker"]

Handler = Callable[[JobView], Mapping[str, Any] | None]
H = TypeVar("H", bound=Handler)


class RetryLater(Exception):
    """Raised by a handler: the job failed for now; try it again after `retry_in` seconds."""

    def __init__(self, message: str, *, retry_in: float | None = None) -> None:
        super().__init__(message)
        self.retry_in = retry_in


@dataclass
class JobHandlers:
    """Handlers by job type, and the rounds that run them against an engine."""

    handlers: dict[str, Handler] = field(default_factory=dict)

    def worker(self, type: str) -> Callable[[H], H]:
        """Decorator: `fn` handles the jobs of `type` (one handler per type)."""

        def register(fn: H) -> H:
            known = self.handlers.get(type)
            if known is not None and known is not fn:
                raise ValueError(f"job type '{type}' already has a handler: {known.__name__}")
            self.handlers[type] = fn
            return fn

        return register

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.handlers))

    def round(
        self,
        engine: Engine,
        *,
        name: str | None = None,
        lease_seconds: float | None = None,
        batch: int = 10,
        stop: Callable[[], bool] = lambda: False,
        echo: Callable[[str], None] = lambda line: None,
    ) -> int:
        """Fetch and handle up to `batch` jobs of each type; returns how many were handled.

        Each job is completed or failed as its own transaction; `stop` is asked between jobs.
        A job whose completion the engine refuses (the instance no longer takes the trigger,
        the result does not fit) is failed with that reason, so it ends as an incident rather
        than silently.
        """
        who = name or default_name()
        handled = 0
        for type in self:
            if stop():
                break
            for job in engine.fetch_jobs(type, worker=who, lease_seconds=lease_seconds, max=batch):
                if stop():
                    break  # the lease ends and another round or worker takes it
                echo(self._handle(engine, job, who))
                handled += 1
        return handled

    def _handle(self, engine: Engine, job: JobView, who: str) -> str:
        where = f"job {job.id} {job.type} ({job.instance}, attempt {job.attempt})"
        try:
            result = self.handlers[job.type](job)
        except RetryLater as later:
            return self._fail(engine, job, who, str(later), later.retry_in, where)
        except Exception as exc:  # a handler's failure is the job's, reported to the engine
            return self._fail(engine, job, who, f"{type(exc).__name__}: {exc}", None, where)
        try:
            view = engine.complete_job(job.id, result, worker=who, attempt=job.attempt)
        except JobRefused as refused:
            return f"{where}: not completed: {refused}"
        except (ExecutionError, ConflictError, StoreError) as exc:
            return self._fail(
                engine, job, who, f"the engine refused the result: {exc}", None, where
            )
        return f"{where} completed: {view.id} -> {view.state}"

    def _fail(
        self,
        engine: Engine,
        job: JobView,
        who: str,
        message: str,
        retry_in: float | None,
        where: str,
    ) -> str:
        try:
            failed = engine.fail_job(
                job.id, message or "failed", retry_in=retry_in, worker=who, attempt=job.attempt
            )
        except JobRefused as refused:
            return f"{where}: failure not recorded: {refused}"
        if failed.state == "incident":
            return f"{where} incident (retries used up): {message}"
        return f"{where} failed, retried at {failed.due_at.isoformat()}: {message}"


def default_name() -> str:
    """This worker's name in job leases: host and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


REGISTRY = JobHandlers()
"""The handlers `worker(...)` registers; `fulfil worker --jobs MODULE` runs them."""


def worker(type: str) -> Callable[[H], H]:
    """Decorator: register `fn` as the handler of jobs of `type` (in `REGISTRY`)."""
    return REGISTRY.worker(type)
