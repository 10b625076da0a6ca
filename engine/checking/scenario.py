"""Event sequences found by the explorer, written as steps of a scenario file.

The steps follow docs/scenarios.md: `start` (with `data` and `as`), `fire` (with `as` and
`data`), `advance` + `tick` for a timer, and a closing `expect` saying what the instance shows.
A process owner pastes the result under `scenarios:` in `processes/<id>.scenarios.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml

from ..clock.durations import format_duration
from ..model import AUTOMATIC
from .abstraction import CLOCK

__all__ = ["ACTOR", "Event", "scenario", "scenario_yaml"]

ACTOR = "checker"  # the actor name the scenarios act as; the role is the one that may fire


def _json(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Event:
    """One step of a path: a start, a fire by a role, or a timer firing after `advance`.

    Attributes:
        kind: "start", "fire" or "timer".
        name: the trigger (fire), the timer's name (timer), "" for a start.
        data: the data given (start, fire).
        role: the role acting (None: no role, or a timer).
        advance: how far the clock moves before the timer is due (timer).
    """

    kind: str
    name: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    role: str | None = None
    advance: timedelta = timedelta(0)

    def steps(self) -> list[dict[str, Any]]:
        """This event as scenario steps (a timer is two: advance, tick)."""
        if self.kind == "timer":
            out: list[dict[str, Any]] = []
            if self.advance > timedelta(0):
                out.append({"advance": format_duration(self.advance)})
            out.append({"tick": True})
            return out
        data = {k: _json(v) for k, v in self.data.items()}
        step: dict[str, Any] = (
            {"start": {"data": data}} if self.kind == "start" else {"fire": self.name}
        )
        if self.role is not None:
            step["as"] = f"{ACTOR}:{self.role}"
        if self.kind == "fire" and data:
            step["data"] = data
        return [step]

    def describe(self) -> str:
        """A one-line account, e.g. `fire log_call {outcome: no_answer}`."""
        if self.kind == "timer":
            return f"timer {self.name} after {format_duration(self.advance)}"
        shown = ", ".join(f"{k}: {_json(v)}" for k, v in self.data.items())
        head = "start" if self.kind == "start" else f"fire {self.name}"
        return f"{head} {{{shown}}}" if shown else head


def scenario(
    name: str, events: Sequence[Event], expect: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A scenario mapping (`name`, `clock`, `steps`) replaying `events`, then `expect`."""
    steps: list[dict[str, Any]] = []
    previous: Event | None = None
    for event in events:
        if event.kind == "fire" and event.name == AUTOMATIC:
            continue  # the engine takes it within the step before: nothing to write
        # A timer already due when the previous timer fired goes off in that same tick.
        chained = event.kind == "timer" and previous is not None and previous.kind == "timer"
        if not (chained and event.advance <= timedelta(0)):
            steps.extend(event.steps())
        previous = event
    if expect:
        steps.append({"expect": {k: _json_fields(v) for k, v in expect.items()}})
    return {
        "name": name,
        "clock": CLOCK.isoformat().replace("+00:00", "Z"),
        "steps": steps,
    }


def _json_fields(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    return _json(value)


def scenario_yaml(value: Mapping[str, Any]) -> str:
    """A scenario as YAML, one list item ready to paste under `scenarios:`."""
    text: str = yaml.safe_dump(
        [dict(value)], sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
    return text
