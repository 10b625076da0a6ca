"""The history hash chain: each event's hash covers the previous hash and the event itself.

`hash = sha256(prev_hash + canonical JSON of the event without its hash)`. Editing, dropping or
reordering a stored event breaks the chain from that event on, which `verify` reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

from engine.store.base import EventRecord, to_iso

__all__ = ["canonical", "event_hash", "seal"]


def canonical(event: EventRecord) -> str:
    """The canonical JSON text of an event, every field but `hash`."""
    body: dict[str, Any] = {
        "instance": event.instance,
        "seq": event.seq,
        "at": to_iso(event.at),
        "actor": event.actor,
        "role": event.role,
        "kind": event.kind,
        "trigger": event.trigger,
        "source": event.source,
        "dest": event.dest,
        "data": event.data,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(event: EventRecord) -> str:
    """The hash an event should carry, given its `prev_hash`."""
    return hashlib.sha256((event.prev_hash + canonical(event)).encode()).hexdigest()


def seal(event: EventRecord, prev_hash: str) -> EventRecord:
    """The event chained after `prev_hash`, with its hash set."""
    chained = replace(event, prev_hash=prev_hash)
    return replace(chained, hash=event_hash(chained))
