"""The `fulfil worker` process and what it runs: due timers, the outbox, and external work.

Worker            the loop: `tick`, `deliver` and job-handler rounds until stopped
                  (`engine.worker.loop`)
@worker("type")   a Python handler of a job type, and `JobHandlers`, the rounds running them
                  (`engine.worker.handlers`, docs/jobs.md); workers in other languages use the
                  engine's job API (`Engine.fetch_jobs`, `complete_job`, `fail_job`) or HTTP
configure_logging the worker's and the server's log lines, text or JSON (`engine.worker.logs`)
"""

from __future__ import annotations

from .handlers import REGISTRY, Handler, JobHandlers, RetryLater, default_name, worker
from .loop import Worker

__all__ = [
    "REGISTRY",
    "Handler",
    "JobHandlers",
    "RetryLater",
    "Worker",
    "default_name",
    "worker",
]
