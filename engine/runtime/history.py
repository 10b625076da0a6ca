"""The history seal: each event's tag covers its content, the previous tag and its place.

An event is sealed as `tag = HMAC-SHA256(key, b"fulfil.event.3\\n" + text)`, or SHA-256 of the
same bytes when no audit key is given. The text (format 3, docs/audit.md) is the event's fields,
the previous event's tag (`prev_hash`), its place in the store-wide sequence (`lane`, `pos`,
the lane's previous event `after`) and the id of the key, as compact JSON with sorted keys,
where `data` and `detail` are the compact JSON text the stores keep (keys in the order written):
the text is assembled from what is stored, so `verify` hashes the stored text as it is, without
decoding and encoding it again (`stored_text`). Editing, dropping or reordering an event breaks
the chain from that event on, and without the key a rewritten chain cannot be sealed again.

Older events still verify: format 2 (`b"fulfil.event.2\\n"`, `data` and `detail` with sorted
keys, `canonical`), and format 1, written before the store-wide sequence existed (`lane` None),
sealed as `sha256(prev_hash + canonical)` without the place or key fields, as unkeyed.

`HistoryChain` is how the runtime writes an instance's events: one keyword method per event,
numbered, placed and sealed after the instance's last one.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from ..audit.keys import AuditKeys
from ..errors import UsageError
from ..store.base import EventRecord, InstanceRecord, Position, Transaction, to_iso
from ..store.jsontext import compact_encoder
from ..store.rows import json_object

__all__ = [
    "EVENT_PREFIX",
    "STORED_PREFIX",
    "HistoryChain",
    "canonical",
    "check_lane",
    "expected_tag",
    "legacy_canonical",
    "record_text",
    "seal",
    "stored_text",
]

EVENT_PREFIX = b"fulfil.event.2\n"
"""What the MAC of a format-2 event covers before its canonical text (domain separation)."""
STORED_PREFIX = b"fulfil.event.3\n"
"""What the MAC of a format-3 event (the stored text) covers before its text."""

_dumps = compact_encoder(sort_keys=True, default=str)
# `data` and `detail` as the SQL stores write them (engine/store/sqlite_rows.py): the public
# compact encoder's text, keys in the order written. `default=str` as the format-2 text has, so
# the memory store seals what it sealed before; a SQL store refuses such a value when writing.
_stored_json = compact_encoder(default=str)
# what `HistoryChain.save` may change besides the revision and the chain's end
_CHANGEABLE = frozenset(
    [
        "version",
        "state",
        "data",
        "updated_at",
        "last_activity_at",
        "parent",
        "task",
        "format_version",
        "assignee",
    ]
)


def stored_text(
    instance: str,
    seq: int,
    at: str,
    actor: str,
    role: str | None,
    kind: str,
    trigger: str | None,
    source: str | None,
    dest: str | None,
    data: str,
    detail: str,
    prev_hash: str,
    lane: int,
    pos: int,
    after: tuple[str, int] | None,
    key: str,
    place: str | None = None,
) -> str:
    """The format-3 text of an event from the texts a store keeps: `at` as `to_iso` writes it,
    `data` and `detail` as compact JSON text. It is the public encoder's compact text of the
    event with sorted keys, `data` and `detail` embedded as given (docs/audit.md). `place`:
    `after` as its JSON text already, when the caller has it."""
    if place is None:
        place = "null" if after is None else f"[{encode_basestring(after[0])},{int(after[1])}]"
    string = encode_basestring  # None is "null", written out here: this runs on every event
    return (
        f'{{"actor":{string(actor)},"after":{place},"at":{string(at)},'
        f'"data":{data},"dest":{"null" if dest is None else string(dest)},"detail":{detail},'
        f'"instance":{string(instance)},"key":{string(key)},'
        f'"kind":{string(kind)},"lane":{int(lane)},"pos":{int(pos)},'
        f'"prev_hash":{string(prev_hash)},"role":{"null" if role is None else string(role)},'
        f'"seq":{int(seq)},"source":{"null" if source is None else string(source)},'
        f'"trigger":{"null" if trigger is None else string(trigger)},"v":3}}'
    )


def record_text(event: EventRecord) -> str:
    """The format-3 text of a placed event record (its data and detail encoded as stored)."""
    e = event
    return stored_text(
        e.instance, e.seq, to_iso(e.at), e.actor, e.role, e.kind, e.trigger, e.source, e.dest,
        _stored_json(e.data), _stored_json(e.detail), e.prev_hash, e.lane or 0, e.pos or 0,
        e.after, e.key,
    )  # fmt: skip


def _text(
    *,
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
    lane: int | None,
    pos: int | None,
    after: tuple[str, int] | None,
    key: str,
) -> str:
    """The canonical text of a format-2 event from its fields (all but `hash`)."""
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
            "lane": lane or 0,
            "pos": pos or 0,
            "after": None if after is None else [after[0], after[1]],
            "key": key,
        }
    )


def canonical(event: EventRecord) -> str:
    """The canonical text of a format-2 event: every field but `hash`."""
    e = event
    return _text(
        instance=e.instance,
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        role=e.role,
        kind=e.kind,
        trigger=e.trigger,
        source=e.source,
        dest=e.dest,
        data=e.data,
        detail=e.detail,
        prev_hash=e.prev_hash,
        lane=e.lane,
        pos=e.pos,
        after=e.after,
        key=e.key,
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
    """The tag the event should carry; None when it was sealed with a key not in `keys`.

    A placed event is format 3 or (written before it) format 2: the text does not say which,
    so the format-3 tag is computed first and, when it differs, the format-2 one. Both are
    tags under the event's key, so trying both gives a forger nothing."""
    if event.lane is None:
        return hashlib.sha256((event.prev_hash + legacy_canonical(event)).encode()).hexdigest()
    tag = keys.tag_with(event.key, STORED_PREFIX + record_text(event).encode())
    if tag is None or tag == event.hash:
        return tag
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


def seal(
    event: EventRecord, prev_hash: str, seq: int, position: Position, keys: AuditKeys
) -> EventRecord:
    """The event numbered `seq` chained after `prev_hash` at `position`, sealed with `keys`'
    first key."""
    placed = replace(
        event,
        seq=seq,
        prev_hash=prev_hash,
        hash="",
        lane=position.lane,
        pos=position.pos,
        after=position.after,
        key=keys.signing_id,
    )
    return replace(placed, hash=keys.seal(STORED_PREFIX + record_text(placed).encode()))


class HistoryChain:
    """Appends events to one instance's history, chaining and sealing them with `keys`.

    Every event of the engine is written through `add` (or made by `event`), its fields named:
    the chain sets its number, its place in the store-wide sequence and its seal.
    """

    def __init__(self, tx: Transaction, record: InstanceRecord, keys: AuditKeys) -> None:
        self.tx, self.seq, self.head, self.instance = tx, record.seq, record.head, record.id
        self.keys = keys
        self.texts: tuple[str, str] | None = None  # the last event's data and detail texts

    def event(
        self,
        kind: str,
        *,
        at: datetime,
        actor: str,
        role: str | None = None,
        trigger: str | None = None,
        source: str | None = None,
        dest: str | None = None,
        data: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> EventRecord:
        """The next event of the instance, placed and sealed; the caller appends it (with
        `texts`, the JSON texts its seal covers, as `tx.append_event(event, chain.texts)`)."""
        return self._next(kind, at, actor, role, trigger, source, dest, data, detail)

    def _next(
        self,
        kind: str,
        at: datetime,
        actor: str,
        role: str | None,
        trigger: str | None,
        source: str | None,
        dest: str | None,
        data: dict[str, Any] | None,
        detail: dict[str, Any] | None,
    ) -> EventRecord:
        """`event`, its fields positional (`add` passes them on without naming each again)."""
        self.seq = seq = self.seq + 1
        keys, instance, head = self.keys, self.instance, self.head
        key = keys.signing_id
        position = self.tx.next_position(instance, seq, key, keys.signing_check)
        if position.last_key:
            check_lane(position, keys)
        if data is None:
            data = {}
        if detail is None:
            detail = {}
        # encoded once: the seal covers these texts and a SQL store writes them as they are
        texts: tuple[str, str] | None
        try:
            data_text, detail_text = json_object(data), json_object(detail)
            texts = (data_text, detail_text)
        except TypeError:
            # a value JSON has no form for: sealed as before, and a SQL store refuses it
            texts, data_text, detail_text = None, _stored_json(data), _stored_json(detail)
        lane, pos, after = position.lane, position.pos, position.after
        text = stored_text(
            instance, seq, to_iso(at), actor, role, kind, trigger, source, dest, data_text,
            detail_text, head, lane or 0, pos or 0, after, key,
        )  # fmt: skip
        tag = keys.seal(STORED_PREFIX + text.encode())
        self.head, self.texts = tag, texts
        # positional: this runs on every event
        return EventRecord(
            instance, seq, at, actor, role, kind, trigger, source, dest, data, detail, head, tag,
            lane, pos, after, key,
        )  # fmt: skip

    def add(
        self,
        kind: str,
        *,
        at: datetime,
        actor: str,
        role: str | None = None,
        trigger: str | None = None,
        source: str | None = None,
        dest: str | None = None,
        data: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> EventRecord:
        """Append the next event of the instance (as `event`, and written)."""
        event = self._next(kind, at, actor, role, trigger, source, dest, data, detail)
        self.tx.append_event(event, self.texts)
        return event

    def save(self, record: InstanceRecord, **changes: Any) -> InstanceRecord:
        """Write `record` back (with `changes`) at the chain's new end and the next revision;
        a ConflictError when someone changed it since it was read."""
        if not changes.keys() <= _CHANGEABLE:
            raise TypeError(f"not a field of an instance to change: {sorted(changes)}")
        get = changes.get
        r = record
        # positional, not `dataclasses.replace`: this runs on every step
        stored = InstanceRecord(
            r.id, r.process, get("version", r.version), get("state", r.state),
            get("data", r.data), r.created_at, get("updated_at", r.updated_at),
            get("last_activity_at", r.last_activity_at), get("parent", r.parent),
            get("task", r.task), r.rev + 1, self.seq, self.head,
            get("format_version", r.format_version), get("assignee", r.assignee),
        )  # fmt: skip
        self.tx.update_instance(stored, expected_rev=record.rev)
        return stored
