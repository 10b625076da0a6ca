"""Live figures of a process for its page: instances per state now, and how long instances
stay in each state and take before each transition (median and 90th percentile).

Times come from history: an instance enters a state with the event that moved it there (its
start, a transition, a timer) and leaves it with the next event that moves it elsewhere. Only
the most recently active `limit` instances are read (a keyset read of the newest), and the
instances per state are counted by the store, so the page stays quick on a big store; the
page says how many were read. This is the one place the workbench computes them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..model import Process
from ..runtime import Engine
from ..store.base import EventRecord, InstanceFilter

__all__ = ["Figures", "Spread", "state_figures"]

_MOVES = ("start", "transition", "timer")


@dataclass(frozen=True)
class Spread:
    """The median and 90th percentile of some durations, and how many there were."""

    count: int
    median: timedelta
    p90: timedelta


@dataclass(frozen=True)
class Figures:
    """What the process page shows beside the definition."""

    counts: dict[str, int]  # state -> instances in it now
    in_state: dict[str, Spread]  # state -> time spent there (left states only)
    before: dict[tuple[str, str, str], Spread]  # (trigger, source, dest) -> time in source
    read: int  # instances whose history was read
    limit: int


def spread(durations: list[timedelta]) -> Spread | None:
    """Median and 90th percentile (nearest rank) of the durations; None for none."""
    if not durations:
        return None
    ordered = sorted(durations)
    n = len(ordered)
    middle = ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
    rank = max(0, -(-9 * n // 10) - 1)  # ceil(0.9 n) - 1
    return Spread(n, middle, ordered[rank])


def _walk(
    events: list[EventRecord],
    in_state: dict[str, list[timedelta]],
    before: dict[tuple[str, str, str], list[timedelta]],
) -> None:
    state: str | None = None
    since: datetime | None = None
    for event in events:
        if event.kind not in _MOVES or event.dest is None:
            continue
        if state is not None and since is not None and event.dest != state:
            in_state[state].append(event.at - since)
            before[(event.trigger or event.kind, state, event.dest)].append(event.at - since)
        if event.dest != state:
            state, since = event.dest, event.at


def state_figures(engine: Engine, process: Process, *, limit: int = 1000) -> Figures:
    """The figures of `process` from the store, reading at most `limit` histories."""
    in_state: dict[str, list[timedelta]] = defaultdict(list)
    before: dict[tuple[str, str, str], list[timedelta]] = defaultdict(list)
    with engine.store.transaction(write=False) as tx:
        counts = {s.name: 0 for s in process.states}
        counts.update(tx.count_instances(process.id))
        latest = InstanceFilter(
            process.id,
            states=tuple((process.id, s.name, ()) for s in process.states),
            order="last_activity_at",
        )
        recent = tx.search_instances(latest, limit)
        for record in reversed(recent):
            _walk(tx.events(record.id), in_state, before)
    return Figures(
        counts,
        {k: s for k, v in in_state.items() if (s := spread(v)) is not None},
        {k: s for k, v in before.items() if (s := spread(v)) is not None},
        len(recent),
        limit,
    )
