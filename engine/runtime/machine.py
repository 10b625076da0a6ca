"""The one place that talks to `transitions`: a typed adapter over a shared `Machine`.

One `Machine` describes a process version (states, transitions, our condition and action
callbacks); it is built once and shared by every instance, and it holds no instances (its
`add_model` scans the models it holds and binds convenience methods on each). The library's
dynamic attributes stay inside this module.

An event is looked up in the machine (`machine.events[trigger].transitions[state]`, the
library's own validation of triggers and sources) and its candidate transitions are then run as
the library's `Transition.execute` runs them on this machine, from a table of the callbacks the
machine was built with: the first whose condition holds changes the state (its states have no
enter or exit callbacks) and runs its action. What the library adds per transition on top of
that, a debug log call per stage and empty callback lists walked (prepare, before, the
machine-wide before/after state change), is work this machine never has, so it is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from transitions import Machine, State

from ..frozen import frozen

__all__ = ["MachineAdapter", "TransitionSpec"]

C = TypeVar("C")


@frozen
class TransitionSpec(Generic[C]):
    """A transition for the machine: `condition` and `action` receive the event's context.

    A `dest` of None is one of the library's internal transitions: the model stays in its state
    without exiting and entering it.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    condition: Callable[[C], bool]
    action: Callable[[C], None]


class _State(State):
    """A state without enter/exit callbacks, so entering and leaving it costs nothing.

    The engine registers none (its work happens in transition callbacks) and no model is ever
    attached, so the library never adds `on_enter_*` methods of a model either.
    """

    def enter(self, event_data: Any) -> None:
        pass

    def exit(self, event_data: Any) -> None:
        pass


class _Machine(Machine):
    """A `Machine` whose states are `_State`s."""

    state_cls = _State


def _condition(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda event: check(event.kwargs["ctx"])


def _action(run: Callable[[Any], None]) -> Callable[[Any], None]:
    return lambda event: run(event.kwargs["ctx"])


class MachineAdapter(Generic[C]):
    """Fires triggers of one process version on a shared `transitions.Machine`."""

    def __init__(self, states: Sequence[str], initial: str, specs: Sequence[TransitionSpec[C]]):
        # per trigger and source state, the candidates in the order the machine tries them
        table: dict[str, dict[str, list[tuple[Callable[[C], bool], Callable[[C], None], str]]]]
        table = {}
        for spec in specs:
            for source in spec.sources:
                candidates = table.setdefault(spec.trigger, {}).setdefault(source, [])
                # a dest of None (internal) stays in the source state
                candidates.append((spec.condition, spec.action, spec.dest or source))
        self._table = {
            trigger: {source: tuple(found) for source, found in by_source.items()}
            for trigger, by_source in table.items()
        }
        self._machine: Any = _Machine(
            model=None,
            states=list(states),
            initial=initial,
            transitions=[
                {
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    "dest": spec.dest,
                    "conditions": [_condition(spec.condition)],
                    "after": [_action(spec.action)],
                }
                for spec in specs
            ],
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    def fire(self, state: str, trigger: str, ctx: C) -> str | None:
        """Fire `trigger` from `state`; the destination, or None when every condition refused.

        Raises:
            LookupError: the trigger has no transition from `state`.
        """
        machine = self._machine
        event = machine.events.get(trigger)
        if event is None:
            raise LookupError(f"'{trigger}' is not a trigger of this process")
        candidates = event.transitions.get(state)
        if not candidates:
            raise LookupError(f"'{trigger}' cannot fire from '{state}'")
        # The machine's own transitions of the event from `state`, run as `Transition.execute`
        # runs them here (see the module's docstring): a condition, then the new state, then
        # the action; the first whose condition holds is taken.
        for condition, action, dest in self._table[trigger][state]:
            if condition(ctx):
                action(ctx)
                return dest
        return None
