"""The history seal: each event's tag covers its content, the previous tag and its place.

An event (format 2) is sealed as `tag = HMAC-SHA256(key, b"fulfil.event.2\\n" + canonical)`,
or SHA-256 of the same bytes when no audit key is given. The canonical text (docs/audit.md)
is the event's fields, the previous event's tag (`prev_hash`), its place in the store-wide
sequence (`lane`, `pos`, the lane's previous event `after`) and the id of the key, as compact
JSON with sorted keys. Editing, dropping or reordering an event breaks the chain from that event
on, and without the key a rewritten chain cannot be sealed again. Events written before the
store-wide sequence existed (format 1: `lane` None) were sealed as `sha256(prev_hash +
canonical)` without the place or key fields; they still verify, as unkeyed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ..audit.keys import AuditKeys
from ..errors import UsageError
from ..store.base import EventRecord, Position, to_iso
from ..store.jsontext import compact_encoder

__all__ = [
    "EVENT_PREFIX",
    "canonical",
    "check_lane",
    "expected_tag",
    "legacy_canonical",
    "seal",
    "sealed",
]

EVENT_PREFIX = b"fulfil.event.2\n"
"""What the MAC of a format-2 event covers before its canonical text (domain separation)."""

_dumps = compact_encoder(sort_keys=True, default=str)


def _text(
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
    position: tuple[int, int, tuple[str, int] | None],
    key: str,
) -> str:
    lane, pos, after = position
    return _dumps(
        {
            "v": 2,
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
            "lane": lane,
            "pos": pos,
            "after": None if after is None else [after[0], after[1]],
            "key": key,
        }
    )


def canonical(event: EventRecord) -> str:
    """The canonical text of a format-2 event: every field but `hash`."""
    e = event
    return _text(
        e.instance,
        e.seq,
        e.at,
        e.actor,
        e.role,
        e.kind,
        e.trigger,
        e.source,
        e.dest,
        e.data,
        e.detail,
        e.prev_hash,
        (e.lane or 0, e.pos or 0, e.after),
        e.key,
    )


def legacy_canonical(event: EventRecord) -> str:
    """The canonical text of a format-1 event (written before the store-wide sequence)."""
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


def expected_tag(event: EventRecord, keys: AuditKeys) -> str | None:
    """The tag the event should carry; None when it was sealed with a key not in `keys`."""
    if event.lane is None:
        return hashlib.sha256((event.prev_hash + legacy_canonical(event)).encode()).hexdigest()
    return keys.tag_with(event.key, EVENT_PREFIX + canonical(event).encode())


def check_lane(position: Position, keys: AuditKeys) -> None:
    """Refuse to seal after an event of the lane that the keys given could not have sealed.

    Raises:
        UsageError: the lane's last event is keyed and no key is given (writing unkeyed events
            after keyed ones would look like tampering), or the key given under that id is
            not the one that sealed it.
    """
    last = position.last_key
    if not last:
        return
    if not keys.keyed:
        raise UsageError(
            f"this store's history is sealed with the audit key '{last}'; give the audit keys "
            "(FULFIL_AUDIT_KEY or --audit-key-file) to write to it"
        )
    if last in keys.ids and position.last_check and keys.check_value(last) != position.last_check:
        raise UsageError(
            f"the audit key '{last}' given is not the key '{last}' this store's history was "
            "sealed with; check FULFIL_AUDIT_KEY or the key file"
        )


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
    position: Position,
    keys: AuditKeys,
) -> EventRecord:
    """A new event chained after `prev_hash` at `position`, sealed with `keys`' first key."""
    key = keys.signing_id
    place = (position.lane, position.pos, position.after)
    text = _text(
        instance, seq, at, actor, role, kind, trigger, source, dest, data, detail, prev_hash,
        place, key,
    )  # fmt: skip
    digest = keys.seal(EVENT_PREFIX + text.encode())
    return EventRecord(
        instance,
        seq,
        at,
        actor,
        role,
        kind,
        trigger,
        source,
        dest,
        data,
        detail,
        prev_hash,
        digest,
        position.lane,
        position.pos,
        position.after,
        key,
    )


def seal(
    event: EventRecord, prev_hash: str, seq: int, position: Position, keys: AuditKeys
) -> EventRecord:
    """The event numbered `seq` chained after `prev_hash` at `position`, sealed."""
    e = event
    return sealed(
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
        position,
        keys,
    )
