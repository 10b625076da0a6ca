"""The history seal: the documented canonical format (golden bytes and MACs), and sealing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime

from fulfil.engine.audit.keys import UNKEYED, AuditKeys
from fulfil.engine.runtime.history import (
    EVENT_PREFIX,
    HistoryChain,
    canonical,
    expected_tag,
    legacy_canonical,
    seal,
)
from fulfil.engine.store.base import EventRecord, InstanceRecord, Position
from fulfil.engine.store.memory import MemoryStore

KEYS = AuditKeys((("k1", b"correct horse battery staple"),))
PLACE = Position(0, 7, ("facebook_access-1", 3), "", "")
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
EVENT = EventRecord(
    instance="facebook_access-2",
    seq=0,
    at=AT,
    actor="ana",
    role="ops_specialist",
    kind="transition",
    trigger="log_call",
    source="New",
    dest="In Progress",
    data={"attempt": 1, "note": "Café ☕"},
    detail={"timers": []},
)
PREV = "ab" * 32
# docs/audit.md shows this event, its canonical text and its tags: keep the three in step
GOLDEN_TEXT = (
    '{"actor":"ana","after":["facebook_access-1",3],"at":"2026-03-02T09:30:00.000000+00:00",'
    '"data":{"attempt":1,"note":"Café ☕"},"dest":"In Progress","detail":{"timers":[]},'
    '"instance":"facebook_access-2","key":"k1","kind":"transition","lane":0,"pos":7,'
    '"prev_hash":"' + "ab" * 32 + '","role":"ops_specialist","seq":2,"source":"New",'
    '"trigger":"log_call","v":2}'
)
GOLDEN_MAC = "06f53e4b68328986289bd1c68e9d28767cc91aa72ad63c822c764c0496e9cc5e"
GOLDEN_UNKEYED = "1aff4b0c5d8d57df34ec34dc60be50ac20faa9e1814d2f5b93583ebd7a9170b8"
GOLDEN_LEGACY = "f77769b0a1ca9c7125bda1111f8e5a0aac90c530fe4fb8c39e330bb0d1990533"


def test_golden_event_text_and_mac() -> None:
    """A fixed event gives fixed canonical bytes and a fixed HMAC-SHA256, computed here again
    from the bytes alone (the format other tools can check histories with)."""
    event = seal(EVENT, PREV, 2, PLACE, KEYS)
    assert canonical(event) == GOLDEN_TEXT
    message = b"fulfil.event.2\n" + GOLDEN_TEXT.encode("utf-8")
    assert EVENT_PREFIX == b"fulfil.event.2\n"
    mac = hmac.new(b"correct horse battery staple", message, hashlib.sha256).hexdigest()
    assert event.hash == mac == GOLDEN_MAC
    assert (event.lane, event.pos, event.after, event.key) == (0, 7, ("facebook_access-1", 3), "k1")


def test_golden_unkeyed_and_legacy_tags() -> None:
    """Unkeyed: SHA-256 of the same bytes with key ""; an old (format 1) event: SHA-256 of
    prev_hash + its text without place and key."""
    event = seal(EVENT, PREV, 2, PLACE, UNKEYED)
    text = GOLDEN_TEXT.replace('"key":"k1"', '"key":""')
    assert canonical(event) == text
    assert event.hash == hashlib.sha256(b"fulfil.event.2\n" + text.encode()).hexdigest()
    assert event.hash == GOLDEN_UNKEYED
    old = replace(event, lane=None, pos=None, after=None, key="")
    assert '"lane"' not in legacy_canonical(old)
    assert expected_tag(old, KEYS) == GOLDEN_LEGACY


def test_seal_verifies_and_depends_on_the_place() -> None:
    """A sealed event's tag is the one `verify` recomputes, and another place changes it."""
    event = seal(EVENT, PREV, 2, PLACE, KEYS)
    assert (event.seq, event.prev_hash) == (2, PREV)
    assert expected_tag(event, KEYS) == event.hash
    assert expected_tag(event, UNKEYED) is None  # a key not given cannot check it
    moved = Position(0, 8, ("facebook_access-1", 3), "", "")
    assert seal(EVENT, PREV, 2, moved, KEYS).hash != event.hash
    other = AuditKeys((("k1", b"another secret of some length"),))
    assert expected_tag(event, other) != event.hash


def test_the_chain_writes_what_seal_gives() -> None:
    """`HistoryChain.add` numbers, places and seals each event after the instance's last one
    (the record `seal` gives for the same fields), writes it, and `save` moves the instance's
    end and revision with it."""
    store = MemoryStore()
    record = InstanceRecord("facebook_access-2", "facebook_access", 1, "New", {}, AT, AT, AT)
    with store.transaction() as tx:
        tx.insert_instance(record)
        chain = HistoryChain(tx, record, KEYS)
        first = chain.add(
            "transition",
            at=AT,
            actor="ana",
            role="ops_specialist",
            trigger="log_call",
            source="New",
            dest="In Progress",
            data={"attempt": 1, "note": "Café ☕"},
            detail={"timers": []},
        )
        second = chain.add("released", at=AT, actor="system")
        saved = chain.save(record, state="In Progress")
        events = tx.events(record.id)
    place = Position(first.lane or 0, first.pos or 0, first.after, "", "")
    assert first == seal(EVENT, "", 1, place, KEYS)
    assert (second.seq, second.prev_hash, second.data, second.detail) == (2, first.hash, {}, {})
    assert events == [first, second]
    assert (saved.seq, saved.head, saved.rev, saved.state) == (2, second.hash, 2, "In Progress")
