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

from ..lazy import names_from

# Each name is imported from its module on first use: a command of the CLI reaches for
# `Engine` and should not pay for the async engine, assignment or embedding it never calls.
_HOME = {
    "AlreadyAssigned": "assigning",
    "AsyncEngine": "asyncengine",
    "CompiledProcess": "compiled",
    "CompiledTimer": "timers",
    "Engine": "engine",
    "Fired": "views",
    "InstanceView": "views",
    "JobView": "views",
    "QueueItem": "views",
    "QueueView": "views",
    "StepContext": "embedding",
    "StepHook": "embedding",
    "TimerScheduler": "timers",
    "TimerView": "views",
    "VerifyProblem": "views",
    "VerifyReport": "views",
    "schedule_timer": "timers",
}

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


__getattr__ = names_from(__name__, _HOME)
