"""A process version compiled once for execution: expressions, actions, timers and the machine.

The engine keeps one `CompiledProcess` per (process id, version) and shares it between all
instances; nothing in it depends on an instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..calendar import BusinessCalendar
from ..errors import GuardRefused, RequirementMissing, RoleRefused
from ..expressions import CompiledExpr, ExprType, compile_expr, field_types
from ..model import Batch, Process, Transition
from .actions import CompiledAction, compile_action
from .data import DataCodec
from .machine import MachineAdapter, TransitionSpec
from .step import Step
from .timers import CompiledTimer, sla_timers

__all__ = ["CompiledProcess", "CompiledTransition", "is_set"]


def is_set(value: Any) -> bool:
    """Whether a field counts as given for `requires` (not None, not empty)."""
    return value is not None and value != "" and value != []


@dataclass(frozen=True)
class CompiledTransition:
    """A transition with its guard and actions compiled."""

    transition: Transition
    guard: CompiledExpr | None
    actions: tuple[CompiledAction, ...]

    def allows(self, step: Step) -> bool:
        """The transition's condition: role, then `requires`, then the guard.

        A refusal is appended to `step.refusals` (the engine raises it when no transition of the
        trigger passes) rather than raised, so a later transition of the same trigger may apply.
        """
        t = self.transition
        if t.roles and not step.internal and step.role not in t.roles:
            step.refusals.append(_role_refusal(step, t))
            return False
        for name in t.requires:
            if not is_set(step.vars.get(name)):
                step.refusals.append(
                    RequirementMissing(
                        f"'{t.trigger}' requires field '{name}' to be set: give it in --data, "
                        f'e.g. --data \'{{"{name}": "..."}}\'',
                        instance=step.record.id,
                        trigger=t.trigger,
                    )
                )
                return False
        if self.guard is not None and self.guard.evaluate(step.vars) is not True:
            step.refusals.append(
                GuardRefused(
                    f"'{t.trigger}' refused: its guard `{self.guard.source}` is false "
                    f"({self.guard.loc})",
                    instance=step.record.id,
                    trigger=t.trigger,
                )
            )
            return False
        return True

    def run(self, step: Step) -> None:
        """The transition's actions, in order."""
        step.transition = self
        for action in self.actions:
            action(step)


def _role_refusal(step: Step, t: Transition) -> RoleRefused:
    allowed = ", ".join(t.roles)
    if step.role is None:
        message = (
            f"'{t.trigger}' may only be fired by role {allowed}; say who you are with "
            "--as ACTOR:ROLE"
        )
    else:
        message = f"role '{step.role}' may not fire '{t.trigger}'; allowed: {allowed}"
    return RoleRefused(message, instance=step.record.id, trigger=t.trigger)


class CompiledProcess:
    """Everything the engine needs to run instances of one process version.

    Raises:
        DefinitionError: an expression, template or timer of the process is invalid.
    """

    def __init__(self, process: Process) -> None:
        self.process = process
        self.codec = DataCodec(process)
        self.env: dict[str, ExprType] = field_types(process)
        self.terminal = frozenset(s.name for s in process.states if s.terminal)
        self.transitions = [self._compile_transition(t) for t in process.transitions]
        self.triggers_from: dict[str, tuple[str, ...]] = {
            s.name: tuple(dict.fromkeys(t.trigger for t in process.transitions_from(s.name)))
            for s in process.states
        }
        calendars = {c.name: BusinessCalendar.from_model(c) for c in process.calendars}
        self.timers: dict[str, tuple[CompiledTimer, ...]] = {
            s.name: tuple(
                CompiledTimer(
                    timer,
                    compile_expr(timer.at, self.env) if timer.at is not None else None,
                    calendars.get(timer.calendar) if timer.calendar else None,
                )
                for timer in s.timers
            )
            + (sla_timers(s.sla, calendars) if s.sla is not None else ())
            for s in process.states
        }
        # A process without timers needs no timer lookups when its instances are shown.
        self.has_timers = any(self.timers.values())
        self.batches: dict[str, Batch] = {
            s.name: s.batch for s in process.states if s.batch is not None
        }
        self.machine: MachineAdapter[Step] = MachineAdapter(
            [s.name for s in process.states],
            process.initial.name,
            [
                TransitionSpec(
                    ct.transition.trigger,
                    ct.transition.sources,
                    ct.transition.dest,
                    ct.allows,
                    ct.run,
                )
                for ct in self.transitions
            ],
        )

    def _compile_transition(self, t: Transition) -> CompiledTransition:
        guard = compile_expr(t.guard, self.env, expect=ExprType.BOOL) if t.guard else None
        actions = tuple(compile_action(a, self.process, self.env) for a in t.actions)
        return CompiledTransition(t, guard, actions)

    @property
    def key(self) -> tuple[str, int]:
        """(process id, version)."""
        return (self.process.id, self.process.version)

    def status(self, state: str) -> tuple[str, str]:
        """The display status and closure reason of a state."""
        spec = self.process.find_state(state)
        if spec is None:
            return ("", "")
        return (spec.status or state, spec.closure_reason)

    def matches(self, trigger: str, source: str, dest: str) -> bool:
        """Whether the definition has a `trigger` transition from `source` to `dest`."""
        return any(
            ct.transition.trigger == trigger
            and source in ct.transition.sources
            and ct.transition.target(source) == dest
            for ct in self.transitions
        )
