"""Incremental verify on every store: a verified-up-to mark per instance spares the replay of
an unchanged instance, and tampering before or after a mark, or with the mark, is still found."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import tampering
from audit_support import CLIENT, KEYS, OPS, engine
from fulfil.engine.audit import AuditKeys
from fulfil.engine.runtime import Engine, verify
from fulfil.engine.store import MemoryStore, Store
from fulfil.engine.store.base import MarkRecord

CALL = {"outcome": "no_answer"}


def marks(store: Store) -> dict[str, MarkRecord]:
    with store.transaction(write=False) as tx:
        return tx.verify_marks()


def put_mark(store: Store, mark: MarkRecord) -> None:
    """Overwrite a stored mark, as someone holding the database would."""
    if isinstance(store, MemoryStore):
        store.tables().marks[mark.instance] = mark
        return
    statement = "UPDATE verify_marks SET seq = ?, head = ?, digest = ?, key_id = ?, mac = ? "
    statement += "WHERE instance = ?"
    values = (mark.seq, mark.head, mark.digest, mark.key, mark.mac, mark.instance)
    if type(store).__name__ == "PostgresStore":
        statement = statement.replace("?", "%s")
    store.execute(statement, values)  # type: ignore[attr-defined]


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The instances each verify replays, in order."""
    seen: list[str] = []
    original = verify._replay

    def counting(record: Any, *args: Any) -> Any:
        seen.append(record.id)
        return original(record, *args)

    monkeypatch.setattr(verify, "_replay", counting)
    return seen


def two(eng: Engine) -> tuple[str, str]:
    first = eng.start("access", CLIENT, **OPS).id
    second = eng.start("access", CLIENT, **OPS).id
    eng.fire(first, "begin", **OPS)
    eng.fire(first, "log_call", CALL, **OPS)
    eng.fire(second, "begin", **OPS)
    return first, second


def found(eng: Engine, **options: Any) -> list[str]:
    return [str(p) for p in eng.verify(**options).problems]


def test_a_verify_marks_and_the_next_replays_only_what_changed(
    store: Store, replays: list[str]
) -> None:
    eng = engine(store)
    first, second = two(eng)
    assert eng.verify().ok and sorted(replays) == [first, second]
    assert {m.instance: (m.seq, m.key) for m in marks(store).values()} == {
        first: (len(tampering.events(store, first)), "k1"),
        second: (len(tampering.events(store, second)), "k1"),
    }
    replays.clear()
    assert eng.verify().ok and replays == []
    eng.fire(second, "log_call", CALL, **OPS)
    assert eng.verify().ok and replays == [second]
    replays.clear()
    report = eng.verify(full=True)
    assert report.ok and sorted(replays) == [first, second]
    assert report.events == sum(len(tampering.events(store, i)) for i in (first, second))


def test_tampering_before_the_mark_is_found(store: Store) -> None:
    """Seals and links are checked on every event each time: an edit of an event the mark
    covers, or one deleted, is found without --full."""
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok and marks(store)[first].seq == 5
    tampering.edit_event(store, first, 2, actor="mallory")
    assert f"{first} event 2: its content does not match its MAC under key 'k1' (edited?)" in (
        found(eng)
    )
    tampering.edit_event(store, first, 2, actor="sam")
    assert eng.verify().ok
    tampering.drop_event(store, first, 3)
    assert any(m.startswith(f"{first} event 4: expected event 3") for m in found(eng))


def test_tampering_after_the_mark_is_found(store: Store) -> None:
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    eng.fire(first, "log_call", CALL, **OPS)
    last = tampering.events(store, first)[-1].seq
    assert last > marks(store)[first].seq
    tampering.edit_event(store, first, last, data={"attempt": 9})
    assert any(m.startswith(f"{first} event {last}: its content") for m in found(eng))


def test_a_row_edited_after_the_mark_is_replayed_and_found(store: Store) -> None:
    """The mark covers the instance row the replay compared: an edited row is replayed."""
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    row = tampering.row(store, first)
    tampering.put_row(store, replace(row, state="Closed"), first)
    assert f"{first}: stored state 'Closed', replay gives 'in_progress'" in found(eng)


def test_an_edited_or_forged_mark_is_named_and_spares_nothing(store: Store) -> None:
    """A mark edited, or made again without the key, is reported and the instance replayed:
    the edited row it was meant to hide is found."""
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    mark = marks(store)[first]
    put_mark(store, replace(mark, seq=3))
    assert f"{first} event 3: its verify mark does not match its MAC (edited?)" in found(eng)
    # the row edited and a mark forged for it under a guessed key
    row = tampering.row(store, first)
    tampering.put_row(store, replace(row, state="Closed"), first)
    guess = engine(store, AuditKeys((("k1", b"a guess at the audit key"),)))
    guess.verify(full=True)  # reports the row, writes no mark
    forged = replace(mark, digest="0" * 64)
    forged = replace(forged, mac=verify.mark_mac(forged, AuditKeys((("k1", b"a guess..."),))))
    put_mark(store, forged)
    problems = found(eng)
    assert f"{first} event 5: its verify mark does not match its MAC (edited?)" in problems
    assert f"{first}: stored state 'Closed', replay gives 'in_progress'" in problems


def test_an_unkeyed_mark_is_not_trusted_by_a_keyed_verify(store: Store, replays: list[str]) -> None:
    eng = engine(store, AuditKeys())
    first, _ = two(eng)
    assert eng.verify().ok and marks(store)[first].key == ""
    replays.clear()
    assert engine(store, AuditKeys()).verify().ok and replays == []
    keyed = engine(store, KEYS)
    keyed.verify()
    assert first in replays


def test_the_stored_text_is_the_text_that_was_sealed(store: Store) -> None:
    """Every store keeps `data` and `detail` as the compact text the seal covered, byte for
    byte (PostgreSQL's TEXT columns included), so verify hashes them as they are."""
    from fulfil.engine.runtime.history import STORED_PREFIX, stored_text
    from fulfil.engine.store.jsontext import public_encoder

    eng = engine(store)
    odd = {"client": 'Café ☕ \u2028 "q" \\ é', "client_email": "o@acme.test"}
    first = eng.start("access", odd, **OPS).id
    eng.fire(first, "begin", **OPS)
    with store.transaction(write=False) as tx:
        stored = tx.stored_events(("", 0), 100)
    assert [e.seq for e in stored] == [1, 2]
    compact = public_encoder()
    for event in stored:
        record = event.record()
        assert (event.data, event.detail) == (compact(record.data), compact(record.detail))
        after = None if event.after_instance is None else (event.after_instance, event.after_seq)
        text = stored_text(
            event.instance, event.seq, event.at, event.actor, event.role, event.kind,
            event.trigger, event.source, event.dest, event.data, event.detail,
            event.prev_hash, event.lane or 0, event.pos or 0, after, event.key or "",  # type: ignore[arg-type]
        )  # fmt: skip
        assert KEYS.seal(STORED_PREFIX + text.encode()) == event.hash
    assert stored[0].record().data["client"] == odd["client"]
