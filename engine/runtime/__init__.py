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

from typing import TYPE_CHECKING

from .assigning import AlreadyAssigned
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

if TYPE_CHECKING:
    from .asyncengine import AsyncEngine


def __getattr__(name: str) -> object:
    # AsyncEngine brings asyncio, which a command of the CLI never needs: loaded on first use
    if name == "AsyncEngine":
        from .asyncengine import AsyncEngine

        return AsyncEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
