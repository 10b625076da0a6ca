"""The history hash chain: each event's hash covers the previous hash and the event itself.

`hash = sha256(prev_hash + canonical JSON of the event without its hash)`. Editing, dropping or
reordering a stored event breaks the chain from that event on, which `verify` reports.
"""

from __future__ import annotations

import hashlib
from typing import Any

from engine.store.base import EventRecord, to_iso
from engine.store.jsontext import compact_encoder

__all__ = ["canonical", "event_hash", "seal"]


def _text(e: EventRecord, seq: int, prev_hash: str) -> str:
    body: dict[str, Any] = {
        "instance": e.instance,
        "seq": seq,
        "at": to_iso(e.at),
        "actor": e.actor,
        "role": e.role,
        "kind": e.kind,
        "trigger": e.trigger,
        "source": e.source,
        "dest": e.dest,
        "data": e.data,
        "detail": e.detail,
        "prev_hash": prev_hash,
    }
    return _dumps(body)


_dumps = compact_encoder(sort_keys=True, default=str)


def canonical(event: EventRecord) -> str:
    """The canonical JSON text of an event, every field but `hash`."""
    return _text(event, event.seq, event.prev_hash)


def event_hash(event: EventRecord) -> str:
    """The hash an event should carry, given its `prev_hash`."""
    return hashlib.sha256((event.prev_hash + canonical(event)).encode()).hexdigest()


def seal(event: EventRecord, prev_hash: str, seq: int | None = None) -> EventRecord:
    """The event numbered `seq` (default: its own) chained after `prev_hash`, hash set."""
    e = event
    seq = e.seq if seq is None else seq
    digest = hashlib.sha256((prev_hash + _text(e, seq, prev_hash)).encode()).hexdigest()
    return EventRecord(
        e.instance,
        seq,
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
        digest,
    )
