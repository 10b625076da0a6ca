"""Model checking and timing analysis of process definitions (`fulfil check`).

    explore(process, depth=8) -> CheckReport   bounded breadth-first exploration (explore.py)
    timing(process) -> TimingReport             timer-only times between states (timing.py)
    paced(process) -> PacedReport               times when people act only when reminded (paced.py)

The explorer abstracts field values to small domains (abstraction.py), runs guards, actions
and timers through the runtime's compiled process, and reports findings (findings.py,
report.py) each with the shortest scenario showing it, in the scenario-file format
(scenario.py, docs/scenarios.md).
"""

from __future__ import annotations

from .explore import explore
from .paced import PacedReach, PacedReport, paced
from .report import KINDS, CheckReport, Finding
from .timing import Reach, Span, TimingReport, timing

__all__ = [
    "KINDS",
    "CheckReport",
    "Finding",
    "PacedReach",
    "PacedReport",
    "Reach",
    "Span",
    "TimingReport",
    "explore",
    "paced",
    "timing",
]
