"""The runtime: executing process instances durably on `transitions`, against a store.

Engine            start / fire / tick / show / history / queue / outbox / verify,
                  claim / assign / release (who works an instance: engine.runtime.assigning),
                  fetch_jobs / complete_job / fail_job (external work: engine.runtime.jobs)
AsyncEngine       the same calls, awaitable, for asyncio applications
StepContext       what a step hook (`Engine(step_hooks=...)`) sees inside a step's transaction
CompiledProcess   one process version compiled once (expressions, actions, timers, machine)
Executor          what one event does inside its transaction
"""

from __future__ import annotations

from .assigning import AlreadyAssigned
from .asyncengine import AsyncEngine
from .compiled import CompiledProcess
from .embedding import StepContext, StepHook
from .engine import Engine
from .timers import CompiledTimer, TimerScheduler, schedule_timer
from .views import (
    Fired,
    InstanceView,
    JobView,
    QueueItem,
    QueueView,
    TimerView,
    VerifyProblem,
    VerifyReport,
)

__all__ = [
    "AlreadyAssigned",
    "AsyncEngine",
    "CompiledProcess",
    "CompiledTimer",
    "Engine",
    "Fired",
    "InstanceView",
    "JobView",
    "QueueItem",
    "QueueView",
    "StepContext",
    "StepHook",
    "TimerScheduler",
    "TimerView",
    "VerifyProblem",
    "VerifyReport",
    "schedule_timer",
]
