"""The history hash chain: each event's hash covers the previous hash and the event itself.

`hash = sha256(prev_hash + canonical JSON of the event without its hash)`. Editing, dropping or
reordering a stored event breaks the chain from that event on, which `verify` reports.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ..store.base import EventRecord, to_iso
from ..store.jsontext import compact_encoder

__all__ = ["canonical", "event_hash", "seal", "sealed"]


_dumps = compact_encoder(sort_keys=True, default=str)


def canonical(event: EventRecord) -> str:
    """The canonical JSON text of an event, every field but `hash`."""
    e = event
    return _dumps(
        {
            "instance": e.instance,
            "seq": e.seq,
            "at": to_iso(e.at),
            "actor": e.actor,
            "role": e.role,
            "kind": e.kind,
            "trigger": e.trigger,
            "source": e.source,
            "dest": e.dest,
            "data": e.data,
            "detail": e.detail,
            "prev_hash": e.prev_hash,
        }
    )


def event_hash(event: EventRecord) -> str:
    """The hash an event should carry, given its `prev_hash`."""
    return hashlib.sha256((event.prev_hash + canonical(event)).encode()).hexdigest()


def sealed(
    instance: str,
    seq: int,
    at: datetime,
    actor: str,
    role: str | None,
    kind: str,
    trigger: str | None,
    source: str | None,
    dest: str | None,
    data: dict[str, Any],
    detail: dict[str, Any],
    prev_hash: str,
) -> EventRecord:
    """A new event chained after `prev_hash`, its hash set (built once: this runs every step)."""
    text = _dumps(
        {
            "instance": instance,
            "seq": seq,
            "at": to_iso(at),
            "actor": actor,
            "role": role,
            "kind": kind,
            "trigger": trigger,
            "source": source,
            "dest": dest,
            "data": data,
            "detail": detail,
            "prev_hash": prev_hash,
        }
    )
    digest = hashlib.sha256((prev_hash + text).encode()).hexdigest()
    return EventRecord(
        instance, seq, at, actor, role, kind, trigger, source, dest, data, detail, prev_hash, digest
    )


def seal(event: EventRecord, prev_hash: str, seq: int | None = None) -> EventRecord:
    """The event numbered `seq` (default: its own) chained after `prev_hash`, hash set."""
    e = event
    return sealed(
        e.instance,
        e.seq if seq is None else seq,
        e.at,
        e.actor,
        e.role,
        e.kind,
        e.trigger,
        e.source,
        e.dest,
        e.data,
        e.detail,
        prev_hash,
    )
