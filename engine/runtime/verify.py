"""Checking an instance's history: the hash chain, then a replay against its definition.

The replay starts from the start event's data and applies each recorded change in order,
checking that every transition exists in the definition from the replayed state, and that the
replay ends where the stored instance is. Any event, state or data that does not match is
reported; nothing is repaired.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import FulfilError
from ..store.base import EventRecord, InstanceRecord
from .compiled import CompiledProcess
from .history import event_hash
from .views import VerifyProblem

__all__ = ["verify_instance"]

_MOVES = ("transition", "timer")


def _chain(record: InstanceRecord, events: list[EventRecord]) -> list[VerifyProblem]:
    problems: list[VerifyProblem] = []
    previous = ""
    for expected_seq, event in enumerate(events, start=1):
        where = record.id
        if event.seq != expected_seq:
            problems.append(VerifyProblem(where, event.seq, f"expected event {expected_seq}"))
        if event.prev_hash != previous:
            problems.append(
                VerifyProblem(where, event.seq, "does not chain to the event before it")
            )
        if event_hash(event) != event.hash:
            problems.append(
                VerifyProblem(where, event.seq, "its content does not match its hash (edited?)")
            )
        previous = event.hash
    if events and (record.seq != events[-1].seq or record.head != events[-1].hash):
        problems.append(
            VerifyProblem(record.id, None, "the instance's last event is not the last stored one")
        )
    return problems


def _replay(
    record: InstanceRecord, events: list[EventRecord], cp: CompiledProcess
) -> list[VerifyProblem]:
    problems: list[VerifyProblem] = []
    if not events or events[0].kind != "start":
        return [VerifyProblem(record.id, None, "history does not begin with a start event")]
    state = events[0].dest or ""
    data = dict(events[0].data)
    if state != cp.process.initial.name:
        problems.append(VerifyProblem(record.id, 1, f"starts in '{state}', not the initial state"))
    for event in events[1:]:
        if event.kind in _MOVES:
            if event.source != state:
                problems.append(
                    VerifyProblem(
                        record.id, event.seq, f"leaves '{event.source}' but replay is in '{state}'"
                    )
                )
            if not cp.matches(event.trigger or "", event.source or "", event.dest or ""):
                problems.append(
                    VerifyProblem(
                        record.id,
                        event.seq,
                        f"the definition has no '{event.trigger}' from '{event.source}' "
                        f"to '{event.dest}'",
                    )
                )
            state = event.dest or state
        data.update(event.data)
    if state != record.state:
        problems.append(
            VerifyProblem(record.id, None, f"stored state '{record.state}', replay gives '{state}'")
        )
    for name in sorted(set(data) | set(record.data)):
        if data.get(name) != record.data.get(name):
            problems.append(
                VerifyProblem(
                    record.id,
                    None,
                    f"field '{name}' is stored as {record.data.get(name)!r}, "
                    f"replay gives {data.get(name)!r}",
                )
            )
    return problems


def verify_instance(
    record: InstanceRecord,
    events: list[EventRecord],
    definition: Callable[[], CompiledProcess],
) -> list[VerifyProblem]:
    """Every mismatch in one instance's stored history and state."""
    problems = _chain(record, events)
    try:
        cp = definition()
    except FulfilError as exc:
        return [*problems, VerifyProblem(record.id, None, f"cannot load its definition: {exc}")]
    return problems + _replay(record, events, cp)
