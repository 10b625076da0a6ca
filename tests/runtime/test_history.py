"""The history seal: the documented canonical format (golden bytes and MACs), and sealing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime

from fulfil.engine.audit.keys import UNKEYED, AuditKeys
from fulfil.engine.runtime.history import (
    EVENT_PREFIX,
    canonical,
    expected_tag,
    legacy_canonical,
    seal,
    sealed,
)
from fulfil.engine.store.base import EventRecord, Position

KEYS = AuditKeys((("k1", b"correct horse battery staple"),))
PLACE = Position(0, 7, ("facebook_access-1", 3), "", "")
FIELDS = (
    "facebook_access-2",
    2,
    datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    "ana",
    "ops_specialist",
    "transition",
    "log_call",
    "New",
    "In Progress",
    {"attempt": 1, "note": "Café ☕"},
    {"timers": []},
    "ab" * 32,
)
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
    event = sealed(*FIELDS, PLACE, KEYS)  # type: ignore[arg-type]
    assert canonical(event) == GOLDEN_TEXT
    message = b"fulfil.event.2\n" + GOLDEN_TEXT.encode("utf-8")
    assert EVENT_PREFIX == b"fulfil.event.2\n"
    mac = hmac.new(b"correct horse battery staple", message, hashlib.sha256).hexdigest()
    assert event.hash == mac == GOLDEN_MAC
    assert (event.lane, event.pos, event.after, event.key) == (0, 7, ("facebook_access-1", 3), "k1")


def test_golden_unkeyed_and_legacy_tags() -> None:
    """Unkeyed: SHA-256 of the same bytes with key ""; an old (format 1) event: SHA-256 of
    prev_hash + its text without place and key."""
    event = sealed(*FIELDS, PLACE, UNKEYED)  # type: ignore[arg-type]
    text = GOLDEN_TEXT.replace('"key":"k1"', '"key":""')
    assert canonical(event) == text
    assert event.hash == hashlib.sha256(b"fulfil.event.2\n" + text.encode()).hexdigest()
    assert event.hash == GOLDEN_UNKEYED
    old = replace(event, lane=None, pos=None, after=None, key="")
    assert '"lane"' not in legacy_canonical(old)
    assert expected_tag(old, KEYS) == GOLDEN_LEGACY


def test_sealed_matches_seal_and_verifies() -> None:
    """`sealed` gives the record `seal` gives, and its tag is the one `verify` recomputes."""
    event = sealed(*FIELDS, PLACE, KEYS)  # type: ignore[arg-type]
    unsealed = EventRecord(*FIELDS)  # type: ignore[arg-type]
    assert event == seal(unsealed, "ab" * 32, 2, PLACE, KEYS)
    assert expected_tag(event, KEYS) == event.hash
    assert expected_tag(event, UNKEYED) is None  # a key not given cannot check it
    moved = Position(0, 8, ("facebook_access-1", 3), "", "")
    assert sealed(*FIELDS, moved, KEYS).hash != event.hash  # type: ignore[arg-type]
    other = AuditKeys((("k1", b"another secret of some length"),))
    assert expected_tag(event, other) != event.hash
