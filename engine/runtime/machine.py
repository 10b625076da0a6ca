"""The one place that talks to `transitions`: a typed adapter over a shared `Machine`.

One `Machine` describes a process version (states, transitions, our condition and action
callbacks); it is built once and shared by every instance. Each event runs the machine's
`Event` on a throwaway model set at the instance's state, never attached to the machine, so the
machine holds no instances (its `add_model` scans the models it holds and binds convenience
methods on each). The library's dynamic attributes stay inside this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from transitions import EventData, Machine, State

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


class _Carrier:
    """The throwaway model an event is fired on."""

    state: str


class _State(State):
    """A state without enter/exit callbacks, so entering and leaving it costs nothing.

    The engine registers none (its work happens in transition callbacks) and the carrier is
    never attached, so the library never adds `on_enter_*` methods of a model either.
    """

    def enter(self, event_data: Any) -> None:
        pass

    def exit(self, event_data: Any) -> None:
        pass


class _Machine(Machine):
    """A `Machine` whose states are `_State`s."""

    state_cls = _State


class MachineAdapter(Generic[C]):
    """Fires triggers of one process version on a shared `transitions.Machine`."""

    def __init__(self, states: Sequence[str], initial: str, specs: Sequence[TransitionSpec[C]]):
        self._machine: Any = _Machine(
            model=None,
            states=list(states),
            initial=initial,
            transitions=[
                {
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    "dest": spec.dest,
                    "conditions": [spec.condition],
                    "after": [spec.action],
                }
                for spec in specs
            ],
            auto_transitions=False,
            # the library calls each condition and action with the event's arguments, which
            # are the context alone: no wrapper between it and our callbacks
            send_event=False,
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
        carrier = _Carrier()
        carrier.state = state
        # The event runs on the carrier without attaching it: add_model/remove_model would
        # bind and unbind every state's and trigger's convenience methods on each event. Its
        # transitions are executed as `Event.trigger` would, minus the machine-wide queue and
        # prepare/finalize/exception hooks, which this machine never has.
        data = EventData(machine.states[state], event, machine, carrier, (ctx,), {})
        for transition in candidates:
            data.transition = transition
            if transition.execute(data):
                return carrier.state
        return None
