"""Which triggers the engine fires itself: timers, fulfilment lists, rules and emits.

A transition without `roles` whose trigger the engine fires is for the engine alone: people may
not fire it by hand (else a specialist could fire `next_call_due` and skip the week the cadence
requires). Naming `roles` on such a transition lets those roles fire it by hand too.

    engine_fired(process, family)   trigger -> what fires it, e.g. "timer 'next_call_due'"

`family` is every process of the catalog: a request's rules and emits fire its tasks' triggers,
and a task's emits fire its request's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import AUTOMATIC, Emit, Process

__all__ = ["clock_fired", "engine_fired"]


def _emits(process: Process) -> Iterator[Emit]:
    for action in process.all_actions():
        if isinstance(action, Emit):
            yield action


def _clocked(process: Process) -> Iterator[tuple[str, str]]:
    if any(t.automatic for t in process.transitions):
        yield AUTOMATIC, "the engine as soon as its guard holds (an automatic transition)"
    for compound in process.compounds:
        for timer in compound.timers:
            yield timer.trigger, f"timer '{timer.name}'"
    for state in process.states:
        for timer in state.timers:
            yield timer.trigger, f"timer '{timer.name}'"
        if state.batch is not None:
            yield state.batch.trigger, f"the fulfilment list of state '{state.name}'"


def _own(process: Process) -> Iterator[tuple[str, str]]:
    yield from _clocked(process)
    for rule in process.rules:
        for target, trigger in rule.fire:
            if target == "parent":
                yield trigger, f"a rule of {process.id}"


def _from_family(process: Process, family: Iterable[Process]) -> Iterator[tuple[str, str]]:
    children = {task.process for task in process.tasks}
    for other in family:
        if other.id == process.id:
            continue
        tasks = {task.name for task in other.tasks if task.process == process.id}
        if tasks:
            for rule in other.rules:
                for target, trigger in rule.fire:
                    if target in tasks:
                        yield trigger, f"a rule of {other.id}"
            for emit in _emits(other):
                if emit.target == "children" or emit.target in tasks:
                    yield emit.trigger, f"an emit of {other.id}"
        if other.id in children:
            for emit in _emits(other):
                if emit.target == "parent":
                    yield emit.trigger, f"an emit of {other.id}"


def engine_fired(process: Process, family: Iterable[Process] = ()) -> dict[str, str]:
    """The triggers of `process` the engine fires, each with the first thing that fires it."""
    fired: dict[str, str] = {}
    for trigger, what in (*_own(process), *_from_family(process, family)):
        fired.setdefault(trigger, what)
    return fired


def clock_fired(process: Process) -> dict[str, str]:
    """The triggers of `process` its own timers and fulfilment lists fire (not rules, emits)."""
    fired: dict[str, str] = {}
    for trigger, what in _clocked(process):
        fired.setdefault(trigger, what)
    return fired
