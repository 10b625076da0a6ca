"""The history seal: the documented formats (golden bytes and MACs), and sealing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime

from fulfil.engine.audit.keys import UNKEYED, AuditKeys
from fulfil.engine.runtime.history import (
    EVENT_PREFIX,
    STORED_PREFIX,
    HistoryChain,
    canonical,
    expected_tag,
    legacy_canonical,
    record_text,
    seal,
    stored_text,
)
from fulfil.engine.store.base import EventRecord, InstanceRecord, Position
from fulfil.engine.store.jsontext import public_encoder
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
# format 3 (sealed now): the same text with "v":3 (its data's keys are already sorted)
GOLDEN_STORED = GOLDEN_TEXT.replace('"v":2}', '"v":3}')
GOLDEN_STORED_MAC = "50130781c6eea7b56b1f43b5a634635da4ef214a6ad1cd290434f20ba2ea64f7"
GOLDEN_STORED_UNKEYED = "31cf5b6c5f316b3071f2296f25e45923f68150b73698c6757de0a43f54951ce0"
# format 2 (events sealed before format 3), format 1 (before the store-wide sequence)
GOLDEN_MAC = "06f53e4b68328986289bd1c68e9d28767cc91aa72ad63c822c764c0496e9cc5e"
GOLDEN_UNKEYED = "1aff4b0c5d8d57df34ec34dc60be50ac20faa9e1814d2f5b93583ebd7a9170b8"
GOLDEN_LEGACY = "f77769b0a1ca9c7125bda1111f8e5a0aac90c530fe4fb8c39e330bb0d1990533"


def test_golden_event_text_and_mac() -> None:
    """A fixed event gives fixed text bytes and a fixed HMAC-SHA256, computed here again
    from the bytes alone (the format other tools can check histories with)."""
    event = seal(EVENT, PREV, 2, PLACE, KEYS)
    assert record_text(event) == GOLDEN_STORED
    message = b"fulfil.event.3\n" + GOLDEN_STORED.encode("utf-8")
    assert STORED_PREFIX == b"fulfil.event.3\n"
    mac = hmac.new(b"correct horse battery staple", message, hashlib.sha256).hexdigest()
    assert event.hash == mac == GOLDEN_STORED_MAC
    assert (event.lane, event.pos, event.after, event.key) == (0, 7, ("facebook_access-1", 3), "k1")
    assert expected_tag(event, KEYS) == event.hash


def test_golden_format_2_still_verifies() -> None:
    """An event sealed in format 2 (before the stored text was sealed) keeps its tag."""
    event = replace(seal(EVENT, PREV, 2, PLACE, KEYS), hash=GOLDEN_MAC)
    assert canonical(event) == GOLDEN_TEXT
    message = b"fulfil.event.2\n" + GOLDEN_TEXT.encode("utf-8")
    assert EVENT_PREFIX == b"fulfil.event.2\n"
    mac = hmac.new(b"correct horse battery staple", message, hashlib.sha256).hexdigest()
    assert mac == GOLDEN_MAC == expected_tag(event, KEYS)
    edited = replace(event, actor="mallory")
    assert expected_tag(edited, KEYS) not in (GOLDEN_MAC, None)


def test_golden_unkeyed_and_legacy_tags() -> None:
    """Unkeyed: SHA-256 of the same bytes with key ""; an old (format 1) event: SHA-256 of
    prev_hash + its text without place and key."""
    event = seal(EVENT, PREV, 2, PLACE, UNKEYED)
    text = GOLDEN_STORED.replace('"key":"k1"', '"key":""')
    assert record_text(event) == text
    assert event.hash == hashlib.sha256(b"fulfil.event.3\n" + text.encode()).hexdigest()
    assert event.hash == GOLDEN_STORED_UNKEYED
    older = replace(event, hash=GOLDEN_UNKEYED)  # format 2, unkeyed
    assert canonical(older) == GOLDEN_TEXT.replace('"key":"k1"', '"key":""')
    assert expected_tag(older, UNKEYED) == GOLDEN_UNKEYED
    old = replace(event, lane=None, pos=None, after=None, key="")
    assert '"lane"' not in legacy_canonical(old)
    assert expected_tag(old, KEYS) == GOLDEN_LEGACY


def test_stored_text_is_the_public_encoders_text() -> None:
    """The format-3 text is what json's public compact encoder writes for the event with
    sorted keys, except that `data` and `detail` keep the order they were written in."""
    data = {"zeta": 1.5, "alpha": [None, True, -0.0, 2**70], "é": 'q"\\\n\u2028', "n": {}}
    detail = {"timers": [{"name": "t", "due": "2026-03-02T09:00:00.000000+00:00"}], "a": 1}
    event = seal(replace(EVENT, data=data, detail=detail), PREV, 2, PLACE, KEYS)
    text = record_text(event)
    compact = public_encoder()
    assert f'"data":{compact(data)},"dest":"In Progress","detail":{compact(detail)},' in text
    members = {
        "v": 3, "instance": event.instance, "seq": 2, "at": "2026-03-02T09:30:00.000000+00:00",
        "actor": "ana", "role": "ops_specialist", "kind": "transition", "trigger": "log_call",
        "source": "New", "dest": "In Progress", "data": "D", "detail": "E",
        "prev_hash": "ab" * 32, "lane": 0, "pos": 7, "after": ["facebook_access-1", 3],
        "key": "k1",
    }  # fmt: skip
    reference = public_encoder(sort_keys=True)(members)
    reference = reference.replace('"D"', compact(data)).replace('"E"', compact(detail))
    assert text == reference
    none = stored_text("i", 1, "t", "a", None, "start", None, None, "New", "{}", "{}", "", 0, 1,
                       None, "")  # fmt: skip
    assert none == public_encoder(sort_keys=True)(
        {"v": 3, "instance": "i", "seq": 1, "at": "t", "actor": "a", "role": None,
         "kind": "start", "trigger": None, "source": None, "dest": "New", "data": {},
         "detail": {}, "prev_hash": "", "lane": 0, "pos": 1, "after": None, "key": ""}
    )  # fmt: skip


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


def test_save_writes_back_every_field_as_replace_would() -> None:
    """`save` builds the written record field by field (it runs on every step): every field
    an instance has is carried over or changed as `dataclasses.replace` would, so a field
    added to `InstanceRecord` and not to `save` fails here, not in a store."""
    from dataclasses import fields

    from fulfil.engine.runtime.history import _CHANGEABLE

    record = InstanceRecord(
        "x-1", "p", 1, "a", {"n": 1}, AT, AT, AT, "parent-1", "task", 4, 2, "h", 3, "sam"
    )
    kept = {"id", "process", "created_at", "rev", "seq", "head"}
    assert {f.name for f in fields(InstanceRecord)} == kept | _CHANGEABLE
    later = datetime(2027, 1, 1, tzinfo=UTC)
    new = {
        "version": 2, "state": "b", "data": {"n": 2}, "updated_at": later,
        "last_activity_at": later, "parent": None, "task": None, "format_version": 4,
        "assignee": "lee",
    }  # fmt: skip
    store = MemoryStore()
    for name, value in [(None, None), *new.items()]:
        with store.transaction() as tx:
            tx.insert_instance(replace(record, id=f"x-{name}"))
            chain = HistoryChain(tx, replace(record, id=f"x-{name}"), KEYS)
            changes = {} if name is None else {name: value}
            saved = chain.save(replace(record, id=f"x-{name}"), **changes)
            expected = replace(record, id=f"x-{name}", rev=5, seq=2, head="h", **changes)
            assert saved == expected
