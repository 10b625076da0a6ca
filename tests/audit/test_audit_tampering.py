"""Tampering with a history is detected on every store, naming the instance and first bad event.

Three kinds the old SHA-256 chain let through (a deleted instance, a cut tail with the row rolled
back, an edit with the chain recomputed), plus row edits, deletions and reorderings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import tampering
from audit_support import CLIENT, KEYS, OPS, T0, engine
from fulfil.engine.audit import AuditKeys
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

CALL = {"outcome": "no_answer"}


def busy(eng: Engine) -> tuple[str, str]:
    """Two instances whose events interleave in the store-wide sequence."""
    first = eng.start("access", CLIENT, **OPS).id
    second = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    eng.fire(first, "log_call", CALL, **OPS)
    eng.fire(second, "begin", **OPS)
    return first, second


def messages(eng: Engine, instance: str | None = None) -> list[str]:
    return [str(p) for p in eng.verify(instance).problems]


def test_an_untouched_store_verifies(store: Store) -> None:
    """A keyed store with interleaved histories verifies whole, each event placed and keyed."""
    eng = engine(store)
    first, _ = busy(eng)
    report = eng.verify()
    assert report.ok, report.problems
    assert report.keys == ("k1",) and report.notes == () and report.events == 7
    assert {e.key for e in tampering.events(store, first)} == {"k1"}


def test_a_deleted_instance_is_named(store: Store) -> None:
    """Deleting an instance, row and every event, leaves a hole that names it."""
    eng = engine(store)
    first, second = busy(eng)
    tampering.delete_instance(store, first)
    found = messages(eng)
    assert any(m.startswith(f"{first} event 1: instance deleted: lane 0 ") for m in found), found
    assert all(second not in m for m in found)


def test_a_cut_tail_with_the_row_rolled_back_is_named(store: Store) -> None:
    """Cutting an instance's last events and rolling its row back shows as a lane hole."""
    eng = engine(store)
    first = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    before = tampering.row(store, first)  # 2 events
    eng.fire(first, "log_call", CALL, **OPS)
    eng.start("access", CLIENT, **OPS)  # a later event anywhere in the store
    assert eng.verify().ok
    tampering.cut_tail(store, first, before)
    assert eng.verify(first).ok  # the instance alone looks whole: the lane tells
    found = messages(eng)
    assert len(found) == 1, found
    assert found[0].startswith(f"{first} event 3: history cut after event 2: lane 0 positions")


def test_an_edit_with_the_sha256_chain_recomputed_is_detected(store: Store) -> None:
    """Editing an event and re-sealing the chain without the key is caught at that event."""
    eng = engine(store)
    first, _ = busy(eng)
    tampering.edit_and_rechain(store, first, 3, actor="mallory")
    found = messages(eng, first)
    assert f"{first} event 3: is unkeyed after keyed events (re-sealed?)" in found
    assert any(m.startswith(f"{first} event 3") for m in messages(eng))


def test_an_edit_resealed_with_a_guessed_key_does_not_match(store: Store) -> None:
    """An event edited and given a tag under the key id but not the secret fails its MAC."""
    eng = engine(store)
    first, _ = busy(eng)
    guess = AuditKeys((("k1", b"a guess at the audit key"),))
    event = tampering.events(store, first)[2]
    forged = replace(event, actor="mallory")
    from fulfil.engine.runtime.history import EVENT_PREFIX, canonical

    forged = replace(forged, hash=guess.seal(EVENT_PREFIX + canonical(forged).encode()))
    history = tampering.events(store, first)
    tampering.put_events(store, first, [*history[:2], forged, *history[3:]])
    found = messages(eng, first)
    assert f"{first} event 3: its content does not match its MAC under key 'k1' (edited?)" in found


def test_an_unkeyed_store_cannot_see_a_recomputed_chain_but_says_so(store: Store) -> None:
    """Without a key a recomputed chain passes the instance check, and verify says it is
    unkeyed; the store-wide sequence still catches cuts (it is not the forger's tool)."""
    eng = engine(store, AuditKeys())
    first, _ = busy(eng)
    tampering.edit_and_rechain(store, first, 3, actor="mallory")
    report = eng.verify(first)
    assert report.ok and report.keys == ()
    assert report.notes and "unkeyed chain (SHA-256)" in report.notes[0]


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (lambda s, i: tampering.edit_event(s, i, 2, actor="mallory"), "event 2: its content"),
        (lambda s, i: tampering.edit_event(s, i, 3, data={"attempt": 5}), "event 3: its content"),
        (lambda s, i: tampering.drop_event(s, i, 2), "event 3: event 2 before it is missing"),
        (lambda s, i: tampering.swap_events(s, i, 2, 3), "event 2: does not chain"),
    ],
    ids=["actor", "data", "deleted-event", "reordered"],
)
def test_row_edits_deletions_and_reorderings_are_named(
    store: Store, tamper: object, expected: str
) -> None:
    """Editing, deleting or reordering stored events names the instance and first bad event."""
    eng = engine(store)
    first, _ = busy(eng)
    tamper(store, first)  # type: ignore[operator]
    found = messages(eng)
    assert found and found[0] == next(m for m in found if m.startswith(first)), found
    assert any(m.startswith(f"{first} {expected}") for m in found), found


def test_an_event_deleted_mid_history_is_named_once_and_by_its_place(store: Store) -> None:
    """An event deleted from the middle of a history: the chain names the hole once (not every
    later event), the lane names the event deleted from its place."""
    eng = engine(store)
    first, _ = busy(eng)
    eng.fire(first, "log_call", CALL, **OPS)
    eng.fire(first, "log_call", CALL, **OPS)
    place = next(e.pos for e in tampering.events(store, first) if e.seq == 2)
    tampering.drop_event(store, first, 2)
    found = messages(eng)
    assert f"{first} event 3: event 2 before it is missing (deleted?)" in found, found
    assert f"{first} event 2: deleted from its history: lane 0 position {place} missing" in found
    assert not [m for m in found if "expected event" in m or "does not chain" in m], found
    tampering.drop_event(store, first, 3)
    found = messages(eng)
    assert f"{first} event 4: events 2-3 before it are missing (deleted?)" in found, found


def test_a_history_whose_row_is_deleted_is_named(store: Store) -> None:
    """Deleting only the instance row leaves its events, which verify names."""
    eng = engine(store)
    first, _ = busy(eng)
    tampering.put_row(store, None, first)
    found = messages(eng)
    assert any(m.startswith(f"{first} event 1: instance row deleted: 5 history") for m in found)


def test_a_rolled_back_write_leaves_no_hole(store: Store) -> None:
    """A step refused after it took a lane position (a conflict, an error) leaves no gap:
    the position is taken again by the next write, and the store verifies."""
    eng = engine(store)
    first, _ = busy(eng)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.next_position(first, 99, "k1", KEYS.check_value("k1"))
        raise RuntimeError("rolled back")
    eng.fire(first, "log_call", CALL, **OPS)
    assert eng.verify().ok


def test_unkeyed_events_before_a_key_are_noted_not_failed(store: Store) -> None:
    """A store that ran unkeyed and then got a key verifies; the unkeyed events are noted."""
    clock = ManualClock(T0)
    first, _ = busy(engine(store, AuditKeys(), clock))
    keyed = engine(store, KEYS, clock)
    clock.advance(timedelta(minutes=1))
    keyed.fire(first, "log_call", CALL, **OPS)
    report = keyed.verify()
    assert report.ok, report.problems
    assert report.notes == (
        "7 event(s) were sealed without a key (before one was set): they detect accidents, "
        "not a forger",
    )
