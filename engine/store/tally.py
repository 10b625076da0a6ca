"""Store-wide counts for metrics and stats (`Transaction.tally`): one read, aggregated.

Instances per (process, state); history events of the kinds an operator counts per (process,
kind, trigger); SLA notices per (process, notice); outbox messages per status; pending and
overdue timers; and the lag (fired minus due) of the last fired timers. The SQL stores answer
with GROUP BY queries (the history one reads every counted event: its cost grows with the
history, so callers cache it, see engine.runtime.metrics); the memory store counts its tables.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import field
from datetime import datetime
from typing import Any

from ..frozen import frozen
from .base import from_iso, to_iso

__all__ = ["COUNTED_KINDS", "LAG_SAMPLE", "StoreTally", "memory_tally", "sql_tally"]

COUNTED_KINDS = ("transition", "timer", "refused", "intervention", "migration")
LAG_SAMPLE = 1000
"""How many of the last fired timers the lag figures are taken from."""


@frozen
class StoreTally:
    """What `Transaction.tally(now)` counts."""

    instances: dict[tuple[str, str], int] = field(default_factory=dict)
    events: dict[tuple[str, str, str], int] = field(default_factory=dict)  # process, kind, trigger
    sla: dict[tuple[str, str], int] = field(default_factory=dict)  # process, overdue|escalation
    outbox: dict[str, int] = field(default_factory=dict)  # status -> count
    timers_pending: int = 0
    timers_overdue: int = 0  # pending and due at `now`: the worker is behind by this many
    oldest_overdue: datetime | None = None
    timer_lags: tuple[float, ...] = ()  # seconds, fired minus due, of the last fired timers


def _notice(detail: Any) -> str:
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return "overdue"
    if isinstance(detail, dict) and detail.get("notice") == "escalation":
        return "escalation"
    return "overdue"


def sql_tally(c: Any, now: datetime, mark: str) -> StoreTally:
    """The tally on a SQL store's cursor, its parameters written `mark` (the dialect's
    placeholder: `?` for SQLite, `%s` for PostgreSQL)."""
    instances = {
        (p, s): int(n)
        for p, s, n in c.execute(
            "SELECT process, state, COUNT(*) FROM instances GROUP BY process, state"
        ).fetchall()
    }
    marks = ", ".join([mark] * len(COUNTED_KINDS))
    events = {
        (p, k, t or ""): int(n)
        for p, k, t, n in c.execute(
            "SELECT i.process, e.kind, e.trigger_name, COUNT(*) FROM events e "
            f"JOIN instances i ON i.id = e.instance WHERE e.kind IN ({marks}) "
            "GROUP BY i.process, e.kind, e.trigger_name",
            COUNTED_KINDS,
        ).fetchall()
    }
    sla: Counter[tuple[str, str]] = Counter()
    for process, detail in c.execute(
        "SELECT i.process, e.detail FROM events e JOIN instances i ON i.id = e.instance "
        "WHERE e.kind = 'sla'"
    ).fetchall():
        sla[(process, _notice(detail))] += 1
    outbox = {
        s: int(n)
        for s, n in c.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
    }
    (pending,) = c.execute("SELECT COUNT(*) FROM timers WHERE fired_at IS NULL").fetchone()
    overdue, oldest = c.execute(
        f"SELECT COUNT(*), MIN(due_at) FROM timers WHERE fired_at IS NULL AND due_at <= {mark}",
        (to_iso(now),),
    ).fetchone()
    fired = c.execute(
        "SELECT due_at, fired_at FROM timers WHERE fired_at IS NOT NULL "
        f"ORDER BY id DESC LIMIT {mark}",
        (LAG_SAMPLE,),
    ).fetchall()
    return StoreTally(
        instances,
        events,
        dict(sla),
        outbox,
        int(pending),
        int(overdue),
        None if oldest is None else from_iso(oldest),
        _lags((from_iso(d), from_iso(f)) for d, f in fired),
    )


def _lags(pairs: Iterable[tuple[datetime, datetime]]) -> tuple[float, ...]:
    return tuple(max(0.0, (fired - due).total_seconds()) for due, fired in pairs)


def memory_tally(tables: Any, now: datetime) -> StoreTally:
    """The tally of a MemoryStore's tables."""
    instances: Counter[tuple[str, str]] = Counter()
    process_of: dict[str, str] = {}
    for record in tables.instances.values():
        instances[(record.process, record.state)] += 1
        process_of[record.id] = record.process
    events: Counter[tuple[str, str, str]] = Counter()
    sla: Counter[tuple[str, str]] = Counter()
    for instance, history in tables.events.items():
        process = process_of.get(instance, "")
        for event in history:
            if event.kind in COUNTED_KINDS:
                events[(process, event.kind, event.trigger or "")] += 1
            elif event.kind == "sla":
                sla[(process, _notice(event.detail))] += 1
    outbox = Counter(message.status for message in tables.outbox.values())
    pending = [t for t in tables.timers.values() if t.fired_at is None]
    overdue = [t.due_at for t in pending if t.due_at <= now]
    fired = sorted(
        (t for t in tables.timers.values() if t.fired_at is not None),
        key=lambda t: t.id or 0,
        reverse=True,
    )[:LAG_SAMPLE]
    return StoreTally(
        dict(instances),
        dict(events),
        dict(sla),
        dict(outbox),
        len(pending),
        len(overdue),
        min(overdue) if overdue else None,
        _lags((t.due_at, t.fired_at) for t in fired if t.fired_at is not None),
    )
