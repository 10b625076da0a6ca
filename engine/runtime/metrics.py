"""The figures an operator watches, from the store and the history: one module for the
Prometheus collector (`engine.runtime.prometheus`), `fulfil stats` and the workbench.

    figures(engine)                  the store-wide tally, cached for `max_age` seconds
    process_stats(engine, process)   one process: instances per state, transitions per
                                     trigger, refusals, SLA breaches and escalations,
                                     interventions, and time in state (median, p90) computed
                                     from the history of its most recently changed instances

`LatencyHistogram` is the fire latency the engine measures itself (fixed buckets, no library):
it covers the calls of this process only, as any Prometheus histogram does.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import datetime
from typing import Any

from ..frozen import frozen
from ..store.base import EventRecord
from ..store.tally import StoreTally

__all__ = [
    "LATENCY_BUCKETS",
    "LatencyHistogram",
    "ProcessStats",
    "figures",
    "percentile",
    "process_stats",
    "time_in_state",
]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_MOVES = ("start", "transition", "timer", "intervention", "migration")


class LatencyHistogram:
    """Counts of durations per bucket (upper bounds in seconds), their sum; thread-safe."""

    def __init__(self, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self._counts = [0] * (len(self.buckets) + 1)  # the last: above every bucket
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self._counts[bisect_left(self.buckets, seconds)] += 1
            self._sum += seconds

    def snapshot(self) -> tuple[list[tuple[str, int]], float, int]:
        """Cumulative (le, count) pairs ending with `+Inf`, the sum, the count."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, running = [], 0
        for bound, count in zip((*map(str, self.buckets), "+Inf"), counts, strict=True):
            running += count
            cumulative.append((bound, running))
        return cumulative, total, running


_cache_lock = threading.Lock()


def figures(engine: Any, max_age: float = 10.0) -> StoreTally:
    """The store's tally at the engine's clock, read at most once per `max_age` seconds (the
    history count reads every event: a scrape every few seconds must not repeat it)."""
    with _cache_lock:
        cached = getattr(engine, "_tally_cache", None)
        if cached is not None and time.monotonic() - cached[0] < max_age:
            return cached[1]  # type: ignore[no-any-return]
    with engine.store.transaction(write=False) as tx:
        tally = tx.tally(engine.clock.now())
    with _cache_lock:
        engine._tally_cache = (time.monotonic(), tally)
    return tally  # type: ignore[no-any-return]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The value below which `fraction` of `values` lie (nearest rank); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def time_in_state(histories: Iterable[Sequence[EventRecord]]) -> dict[str, list[float]]:
    """Seconds each completed stay lasted, per state, from the histories given.

    A stay begins when an event lands the instance in a state (start, transition, timer,
    intervention, migration) and ends when the next such event takes it elsewhere; a
    self-loop does not end it, the current stay is not counted (it has not ended).
    """
    stays: dict[str, list[float]] = {}
    for events in histories:
        state: str | None = None
        entered: datetime | None = None
        for event in events:
            if event.kind not in _MOVES or event.dest is None:
                continue
            if event.dest == state:
                continue
            if state is not None and entered is not None:
                stays.setdefault(state, []).append((event.at - entered).total_seconds())
            state, entered = event.dest, event.at
    return stays


@frozen
class ProcessStats:
    """`fulfil stats PROCESS`: the figures of one process."""

    process: str
    states: dict[str, int]
    transitions: dict[str, int]
    refusals: dict[str, int]
    interventions: dict[str, int]
    sla: dict[str, int]
    time_in_state: dict[str, dict[str, float | int | None]]
    sampled: int
    outbox: dict[str, int] = field(default_factory=dict)
    timers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "states": self.states,
            "transitions": self.transitions,
            "refusals": self.refusals,
            "interventions": self.interventions,
            "sla": self.sla,
            "outbox": self.outbox,
            "timers": self.timers,
            "time_in_state": self.time_in_state,
            "sampled_instances": self.sampled,
        }

    def lines(self) -> list[str]:
        """The plain-text report."""
        out = [f"{self.process}: {sum(self.states.values())} instance(s)"]
        out.append("instances per state:")
        out += [f"  {state}: {count}" for state, count in self.states.items()]
        for title, table in (
            ("transitions per trigger", self.transitions),
            ("refusals per trigger", self.refusals),
            ("interventions", self.interventions),
        ):
            if table:
                out.append(f"{title}:")
                out += [f"  {name}: {count}" for name, count in sorted(table.items())]
        out.append(
            f"SLA: {self.sla.get('overdue', 0)} breach(es), "
            f"{self.sla.get('escalation', 0)} escalation(s)"
        )
        if self.outbox:
            shown = ", ".join(f"{k} {v}" for k, v in sorted(self.outbox.items()))
            out.append(f"outbox (all processes): {shown}")
        if self.timers:
            t = self.timers
            out.append(
                f"timers (all processes): {t['pending']} pending, {t['overdue']} overdue; "
                f"lag p50 {_seconds(t['lag_p50_seconds'])}, p90 {_seconds(t['lag_p90_seconds'])}"
            )
        out.append(f"time in state (completed stays, {self.sampled} instance(s) read):")
        for state, figures_ in self.time_in_state.items():
            out.append(
                f"  {state}: {figures_['stays']} stay(s), median "
                f"{_seconds(figures_['median_seconds'])}, p90 {_seconds(figures_['p90_seconds'])}"
            )
        return out


def _seconds(value: Any) -> str:
    if value is None:
        return "-"
    seconds = float(value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.1f}s"


def process_stats(engine: Any, process_id: str, *, sample: int = 10_000) -> ProcessStats:
    """The figures of one process; time in state from its `sample` most recently changed
    instances' histories.

    Raises:
        NotFound: no such process.
    """
    from statistics import median

    process = engine.catalog.get(process_id)
    tally: StoreTally = figures(engine, max_age=0)
    states = {s.name: 0 for s in process.states}
    for (p, state), count in sorted(tally.instances.items()):
        if p == process_id:
            states[state] = states.get(state, 0) + count
    per_kind: dict[str, Counter[str]] = {}
    for (p, kind, trigger), count in tally.events.items():
        if p == process_id:
            per_kind.setdefault(kind, Counter())[trigger] += count
    transitions = per_kind.get("transition", Counter()) + per_kind.get("timer", Counter())
    sla = {notice: n for (p, notice), n in tally.sla.items() if p == process_id}
    from .search import SearchRequest

    ids: list[str] = []
    request = SearchRequest(process=process_id, sort="-updated_at", limit=500)
    while len(ids) < sample:
        page = engine.search(request)
        ids += [item.id for item in page.items]
        if page.next is None:
            break
        request = SearchRequest(process=process_id, sort="-updated_at", limit=500, cursor=page.next)
    ids = ids[:sample]
    with engine.store.transaction(write=False) as tx:
        histories = [tx.events(instance) for instance in ids]
    stays = time_in_state(histories)
    lags = tally.timer_lags
    return ProcessStats(
        process_id,
        states,
        dict(transitions),
        dict(per_kind.get("refused", Counter())),
        dict(per_kind.get("intervention", Counter())),
        {"overdue": sla.get("overdue", 0), "escalation": sla.get("escalation", 0)},
        {
            state: {
                "stays": len(values),
                "median_seconds": median(values) if values else None,
                "p90_seconds": percentile(values, 0.9),
            }
            for state, values in stays.items()
        },
        len(histories),
        dict(tally.outbox),
        {
            "pending": tally.timers_pending,
            "overdue": tally.timers_overdue,
            "lag_p50_seconds": percentile(lags, 0.5),
            "lag_p90_seconds": percentile(lags, 0.9),
            "lag_max_seconds": max(lags) if lags else None,
        },
    )
