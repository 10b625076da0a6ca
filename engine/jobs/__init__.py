"""External work for Python workers: `@worker("type")` handlers and the rounds running them.

See `engine.jobs.handlers` and docs/jobs.md; workers in other languages use the engine's job
API (`Engine.fetch_jobs`, `complete_job`, `fail_job`) or HTTP.
"""

from __future__ import annotations

from .handlers import REGISTRY, Handler, JobHandlers, RetryLater, default_name, worker

__all__ = ["REGISTRY", "Handler", "JobHandlers", "RetryLater", "default_name", "worker"]
