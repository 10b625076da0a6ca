"""A process version compiled once for execution: expressions, actions, timers and the machine.

The engine keeps one `CompiledProcess` per (process id, version) and shares it between all
instances; nothing in it depends on an instance.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from ..clock.calendars import BusinessCalendar
from ..definition.firing import engine_fired
from ..errors import GuardRefused, RequirementMissing, RoleRefused
from ..expressions import CompiledExpr, ExprType, compile_expr, field_types
from ..model import Batch, CreateJob, Process, State, Transition
from .actions import CompiledAction, compile_action
from .data import DataCodec
from .machine import MachineAdapter, TransitionSpec
from .step import Step
from .timers import CompiledTimer, sla_timers

__all__ = [
    "CANCELLED",
    "CANCELLED_REASON",
    "CANCELLED_STATUS",
    "CompiledProcess",
    "CompiledTransition",
    "is_set",
]

CANCELLED = "Cancelled"
"""The terminal state `fulfil cancel` puts an instance in, which every process has.

Capitalised, so no process's own state (lowercase identifiers) can be called so."""
CANCELLED_STATUS = "Closed"
CANCELLED_REASON = "Cancelled"


def is_set(value: Any) -> bool:
    """Whether a field counts as given for `requires` (not None, not empty)."""
    return value is not None and value != "" and value != []


class CompiledTransition:
    """A transition with its guard and actions, compiled the first time it is tried (a step
    fires one transition of a process: the others need not be compiled for it).

    Attributes:
        transition: the transition as written.
        fired_by: what fires it when only the engine may (it names no `roles`); else None.
    """

    def __init__(self, transition: Transition, fired_by: str | None, cp: CompiledProcess) -> None:
        self.transition = transition
        self.fired_by = fired_by
        self._cp = cp

    def __repr__(self) -> str:
        return f"CompiledTransition({self.transition.trigger!r}, {self.transition.sources!r})"

    @cached_property
    def guard(self) -> CompiledExpr | None:
        """The guard, compiled (None: the transition has none)."""
        t = self.transition
        return compile_expr(t.guard, self._cp.env, expect=ExprType.BOOL) if t.guard else None

    @cached_property
    def actions(self) -> tuple[CompiledAction, ...]:
        """The transition's own actions, compiled, in order."""
        cp = self._cp
        return tuple(compile_action(a, cp.process, cp.env) for a in self.transition.actions)

    def allows(self, step: Step) -> bool:
        """The transition's condition: role, then `requires`, then the guard.

        A refusal is appended to `step.refusals` (the engine raises it when no transition of the
        trigger passes) rather than raised, so a later transition of the same trigger may apply.
        """
        t = self.transition
        if not step.internal:
            if self.fired_by is not None:
                step.refusals.append(engine_only_refusal(step.record.id, t.trigger, self.fired_by))
                return False
            if t.roles and step.role not in t.roles:
                step.refusals.append(_role_refusal(step, t))
                return False
        for name in t.requires:
            if not is_set(step.vars.get(name)):
                step.refusals.append(
                    RequirementMissing(
                        f"'{t.trigger}' requires field '{name}' to be set",
                        instance=step.record.id,
                        trigger=t.trigger,
                        details={"field": name},
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
        """The transition's actions, in order; with entry and exit actions, those of the
        states it leaves (innermost first), then its own, then those of the states it enters
        (outermost first)."""
        step.transition = self
        cp = step.cp
        if not cp.has_entry_exit:
            for action in self.actions:
                action(step)
            return
        exits, entries = cp.moves(self.transition, step.record.state)
        for name in exits:
            for action in cp.on_exit.get(name, ()):
                action(step)
        for action in self.actions:
            action(step)
        for name in entries:
            for action in cp.on_enter.get(name, ()):
                action(step)


def engine_only_refusal(instance: str, trigger: str, fired_by: str) -> RoleRefused:
    """The refusal of a person firing a trigger only the engine fires."""
    return RoleRefused(
        f"'{trigger}' is fired by {fired_by}, not by hand; to let people fire it too, name "
        "their roles in the transition's `roles`",
        instance=instance,
        trigger=trigger,
    )


def _role_refusal(step: Step, t: Transition) -> RoleRefused:
    """The refusal of a role the transition does not allow (`details.role`, absent when none was
    named); `details.roles` are those it allows, and each surface says how to name one (the
    command line's --as, the API's `role`)."""
    allowed = ", ".join(t.roles)
    if step.role is None:
        message = f"'{t.trigger}' may only be fired by role {allowed}; name the role you act in"
    else:
        message = f"role '{step.role}' may not fire '{t.trigger}'; allowed: {allowed}"
    details = {"roles": list(t.roles), "role": step.role}
    return RoleRefused(message, instance=step.record.id, trigger=t.trigger, details=details)


class CompiledProcess:
    """Everything the engine needs to run instances of one process version.

    What a view of an instance needs (statuses, terminal states, the triggers people may fire,
    whether there are timers, jobs, batches, entry and exit actions) is read off the model
    when the process is compiled. The guards, actions, timers and the machine are compiled the
    first time a step needs them: a command that only shows an instance compiles no
    expression. A definition is checked when it is loaded, so compiling them later finds no
    error a load would not have found.

    Raises:
        DefinitionError: an expression, template or timer of the process is invalid (when the
            part holding it is compiled).
    """

    def __init__(self, process: Process, fired: Mapping[str, str] | None = None) -> None:
        self.process = process
        self.codec = DataCodec(process)
        self.env: dict[str, ExprType] = field_types(process)
        self.terminal = frozenset(s.name for s in process.states if s.terminal) | {CANCELLED}
        # what the engine fires itself (engine.definition.firing); the catalog's view when given
        self.fired = dict(engine_fired(process) if fired is None else fired)
        self._engine_only: dict[tuple[str, str], str | None] = {}
        self.triggers_from: dict[str, tuple[str, ...]] = {
            s.name: tuple(dict.fromkeys(t.trigger for t in process.transitions_from(s.name)))
            for s in process.states
        }
        # what people may fire in each state: without the triggers only the engine fires there
        self.hand_triggers_from: dict[str, tuple[str, ...]] = {
            state: tuple(t for t in triggers if self.engine_only(state, t) is None)
            for state, triggers in self.triggers_from.items()
        }
        everywhere = process.all_states()
        self.has_entry_exit = any(s.on_enter or s.on_exit for s in everywhere)
        self._moves: dict[tuple[int, str], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # A process without timers needs no timer lookups when its instances are shown.
        self.has_timers = any(s.timers or (isinstance(s, State) and s.sla) for s in everywhere)
        # whether a step can create a job (else closing an instance has none to cancel)
        self.has_jobs = any(isinstance(action, CreateJob) for action in process.all_actions())
        self.batches: dict[str, Batch] = {
            s.name: s.batch for s in process.states if s.batch is not None
        }

    def fired_by(self, t: Transition) -> str | None:
        """What fires `t` when only the engine may (it names no `roles`); None: people may."""
        return None if t.roles else self.fired.get(t.trigger)

    @cached_property
    def transitions(self) -> list[CompiledTransition]:
        """Every transition, in the order written (each compiled when first tried)."""
        return [CompiledTransition(t, self.fired_by(t), self) for t in self.process.transitions]

    @cached_property
    def automatic_from(self) -> dict[str, tuple[CompiledTransition, ...]]:
        """The automatic transitions (no trigger) from each state, in the order they are
        tried."""
        process = self.process
        found: dict[str, tuple[CompiledTransition, ...]] = {}
        if not any(t.automatic for t in process.transitions):
            return found
        compiled = {id(ct.transition): ct for ct in self.transitions}
        for state in process.states:
            automatic = tuple(
                compiled[id(t)] for t in process.transitions_from(state.name) if t.automatic
            )
            if automatic:
                found[state.name] = automatic
        return found

    @cached_property
    def timers(self) -> dict[str, tuple[CompiledTimer, ...]]:
        """The timers of each state, keyed by the state declaring them: a compound state's
        timers run while the instance is anywhere inside it, and are cancelled when it leaves
        the compound state."""
        process = self.process
        calendars = {c.name: BusinessCalendar.from_model(c) for c in process.calendars}
        return {
            s.name: tuple(
                CompiledTimer(
                    timer,
                    compile_expr(timer.at, self.env) if timer.at is not None else None,
                    calendars.get(timer.calendar) if timer.calendar else None,
                    compile_expr(timer.unless, self.env, expect=ExprType.BOOL)
                    if timer.unless is not None
                    else None,
                )
                for timer in s.timers
            )
            + (sla_timers(s.sla, calendars) if isinstance(s, State) and s.sla else ())
            for s in process.all_states()
        }

    @cached_property
    def on_enter(self) -> dict[str, tuple[CompiledAction, ...]]:
        """The entry actions of each state that has any, compiled."""
        return {
            s.name: tuple(compile_action(a, self.process, self.env) for a in s.on_enter)
            for s in self.process.all_states()
            if s.on_enter
        }

    @cached_property
    def on_exit(self) -> dict[str, tuple[CompiledAction, ...]]:
        """The exit actions of each state that has any, compiled."""
        return {
            s.name: tuple(compile_action(a, self.process, self.env) for a in s.on_exit)
            for s in self.process.all_states()
            if s.on_exit
        }

    @cached_property
    def idle(self) -> dict[str, tuple[CompiledTimer, ...]]:
        """The `idle` timers of each state: armed afresh by every step the instance takes
        there."""
        return {
            name: idle
            for name, timers in self.timers.items()
            if (idle := tuple(t for t in timers if t.timer.idle is not None))
        }

    @cached_property
    def machine(self) -> MachineAdapter[Step]:
        """The one `transitions` machine every instance of the version steps on."""
        return MachineAdapter(
            [s.name for s in self.process.states], self.process.initial.name, self._specs()
        )

    def _specs(self) -> list[TransitionSpec[Step]]:
        """The machine's transitions. Compound states are flattened here, at compile time:
        the one shared machine has only plain states, and from each of them the transitions
        it inherits are tried after its own (`Process.transitions_from`)."""
        if not self.process.compounds:
            return [
                TransitionSpec(
                    ct.transition.trigger,
                    ct.transition.sources,
                    ct.transition.dest,
                    ct.allows,
                    ct.run,
                )
                for ct in self.transitions
            ]
        compiled = {id(ct.transition): ct for ct in self.transitions}
        specs: list[TransitionSpec[Step]] = []
        for state in self.process.states:
            for t in self.process.transitions_from(state.name):
                ct = compiled[id(t)]
                specs.append(TransitionSpec(t.trigger, (state.name,), t.dest, ct.allows, ct.run))
        return specs

    def moves(self, transition: Transition, source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The states a transition leaves from `source` (innermost first) and enters
        (outermost first). An internal transition leaves and enters none; any other leaves
        every state below the innermost compound state holding both where it is written and
        where it goes, and enters those down to its destination: a transition written on a
        state (plain or compound) to itself or into itself leaves and re-enters it."""
        key = (id(transition), source)
        found = self._moves.get(key)
        if found is not None:
            return found
        process = self.process
        if transition.dest is None:
            found = ((), ())
        elif not process.compounds:
            found = ((source,), (transition.dest,))
        else:
            written = process.written_source(transition, source)
            target = transition.declared_dest or transition.dest
            around = set(process.ancestors(written)) & set(process.ancestors(target))
            from_path, to_path = process.path(source), process.path(transition.dest)
            found = (
                tuple(reversed([s for s in from_path if s not in around])),
                tuple(s for s in to_path if s not in around),
            )
        self._moves[key] = found
        return found

    @cached_property
    def _hand(self) -> dict[tuple[str, str], tuple[str, ...] | None]:
        declared = tuple(r.name for r in self.process.roles)
        out: dict[tuple[str, str], tuple[str, ...] | None] = {}
        for t in self.process.transitions:
            fired_by = self.fired_by(t)
            for source in t.sources:
                key = (source, t.trigger)
                if fired_by is not None:
                    out.setdefault(key, ())
                    continue
                have = out.get(key, ())
                if have is None:
                    continue
                allowed = t.roles or declared
                out[key] = None if not allowed else tuple(dict.fromkeys((*have, *allowed)))
        return out

    def hand_roles(self, state: str, trigger: str) -> tuple[str, ...] | None:
        """The roles that may fire `trigger` by hand in `state`: () when only the engine
        fires it there, None when any role may (a process that declares no roles)."""
        return self._hand.get((state, trigger), ())

    def engine_only(self, state: str, trigger: str) -> str | None:
        """What fires `trigger` when, in `state`, only the engine may fire it; else None."""
        key = (state, trigger)
        if key in self._engine_only:
            return self._engine_only[key]
        found = self._engine_only[key] = self._find_engine_only(state, trigger)
        return found

    def _find_engine_only(self, state: str, trigger: str) -> str | None:
        found = None
        for t in self.process.transitions:
            if t.trigger == trigger and state in t.sources:
                fired_by = self.fired_by(t)
                if fired_by is None:
                    return None
                found = found or fired_by
        return found

    def path(self, state: str) -> tuple[str, ...]:
        """The states an instance in `state` is in, outermost first (`Process.path`)."""
        if not self.process.compounds:
            return (state,)
        return self.process.path(state)

    def timers_around(self, state: str) -> list[tuple[str, CompiledTimer]]:
        """The timers running while an instance is in `state`: (declaring state, timer)."""
        return [(name, timer) for name in self.path(state) for timer in self.timers.get(name, ())]

    def timer_named(self, state: str, name: str) -> CompiledTimer | None:
        """The timer `name` that `state` declares (None: no such timer)."""
        return next((t for t in self.timers.get(state, ()) if t.timer.name == name), None)

    @property
    def key(self) -> tuple[str, int]:
        """(process id, version)."""
        return (self.process.id, self.process.version)

    def status(self, state: str) -> tuple[str, str]:
        """The display status and closure reason of a state."""
        spec = self.process.find_state(state)
        if spec is None:
            return (CANCELLED_STATUS, CANCELLED_REASON) if state == CANCELLED else ("", "")
        return (spec.status or state, spec.closure_reason)

    def matches(self, trigger: str, source: str, dest: str) -> bool:
        """Whether the definition has a `trigger` transition from `source` to `dest`."""
        return any(
            t.trigger == trigger and source in t.sources and t.target(source) == dest
            for t in self.process.transitions
        )
