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


def delete_mark(store: Store, instance: str) -> None:
    if isinstance(store, MemoryStore):
        del store.tables().marks[instance]
        return
    tampering._sql(store, "DELETE FROM verify_marks WHERE instance = ?", (instance,))


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


def test_an_unchanged_instance_is_not_read_again(store: Store, replays: list[str]) -> None:
    """A verify after one that passed reads no event of an instance unchanged since: its mark
    stands for them. The report still counts every event, under the key that sealed it."""
    eng = engine(store)
    first, second = two(eng)
    assert eng.verify().ok
    read: list[str] = []
    original = verify._stored_tags

    def reading(events: Any, keys: Any) -> Any:
        read.extend(sorted({e.instance for e in events}))
        return original(events, keys)

    setattr(verify, "_stored_tags", reading)  # noqa: B010 (undone below)
    try:
        replays.clear()
        report = eng.verify()
        assert report.ok and replays == [] and read == []
        assert report.events == sum(len(tampering.events(store, i)) for i in (first, second))
        eng.fire(second, "log_call", CALL, **OPS)
        assert eng.verify().ok and replays == [second] and read == [second]
    finally:
        setattr(verify, "_stored_tags", original)  # noqa: B010


def test_an_edit_before_the_mark_is_found_by_full(store: Store) -> None:
    """An incremental verify does not read the events a mark covers: an edit of one, not
    sealed again (that takes the key), is what --full finds."""
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok and marks(store)[first].seq == 5
    tampering.edit_event(store, first, 2, actor="mallory")
    assert eng.verify().ok
    edited = f"{first} event 2: its content does not match its MAC under key 'k1' (edited?)"
    assert edited in found(eng, full=True)
    tampering.edit_event(store, first, 2, actor="sam")
    assert eng.verify(full=True).ok


def test_an_event_deleted_or_added_before_the_mark_is_found(store: Store) -> None:
    """The store's count of events and of placed events stand for the events a mark covers:
    one deleted or added is found without --full, and --full says which."""
    eng = engine(store)
    first, second = two(eng)
    assert eng.verify().ok
    history = tampering.events(store, first)
    tampering.drop_event(store, first, 3)
    problems = found(eng)
    assert any(p.startswith(f"{first} event 3") for p in problems), problems
    missing = f"{first} event 4: event 3 before it is missing"
    assert any(p.startswith(missing) for p in found(eng, full=True))
    tampering.put_events(store, first, history)
    assert eng.verify(full=True).ok
    # a whole instance deleted, its row, its history and its mark: a hole in the lane
    tampering.delete_instance(store, second)
    delete_mark(store, second)
    problems = found(eng)
    assert any(p.startswith(f"{second} event 1: instance deleted: lane 0") for p in problems)


def test_an_event_deleted_after_the_mark_is_found(store: Store) -> None:
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    eng.fire(first, "log_call", CALL, **OPS)
    last = tampering.events(store, first)[-1].seq
    tampering.drop_event(store, first, last)
    assert any(m.startswith(f"{first} event {last}: is missing") for m in found(eng))


def test_an_event_added_after_the_mark_is_found(store: Store) -> None:
    """An event stored after the one the mark (and the row) ends on: that instance is read."""
    eng = engine(store)
    first, second = two(eng)
    assert eng.verify().ok
    history = tampering.events(store, first)
    model = tampering.events(store, second)[-1]
    extra = replace(model, instance=first, seq=len(history) + 1, pos=(model.pos or 0) + 100)
    tampering.put_events(store, first, [*history, extra])
    problems = found(eng)
    assert any(p.startswith(f"{first} event {extra.seq}: is stored after") for p in problems)


def test_a_deleted_mark_checks_the_instance_whole(store: Store, replays: list[str]) -> None:
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    delete_mark(store, first)
    replays.clear()
    assert eng.verify().ok and replays == [first]
    assert first in marks(store)
    # a row edited and its mark deleted with it
    row = tampering.row(store, first)
    tampering.put_row(store, replace(row, state="Closed"), first)
    delete_mark(store, first)
    assert f"{first}: stored state 'Closed', replay gives 'in_progress'" in found(eng)


def test_a_changed_definition_replays_the_instance(store: Store) -> None:
    """The mark holds the definition the replay ran against: a stored definition changed
    since is replayed against, and a history it does not allow is found."""
    from audit_support import FIXTURES
    from fulfil.engine.definition.loader import load_text
    from fulfil.engine.store.base import DefinitionRecord

    eng = engine(store)
    two(eng)
    assert eng.verify().ok
    text = (FIXTURES / "access.yaml").read_text().replace("trigger: log_call", "trigger: log")
    changed = load_text(text, "access.yaml").process
    record = DefinitionRecord("access", 1, changed.source_hash, text)
    if isinstance(store, MemoryStore):
        store.tables().definitions[("access", 1)] = record
    else:
        tampering._sql(
            store,
            "UPDATE definitions SET source_hash = ?, source = ? WHERE process = ? AND version = ?",
            (record.source_hash, record.source, "access", 1),
        )
    problems = found(engine(store))
    assert any("the definition has no 'log_call'" in p for p in problems), problems


def test_an_edited_lane_mark_is_named_and_the_lane_read(store: Store) -> None:
    eng = engine(store)
    first, _ = two(eng)
    assert eng.verify().ok
    with store.transaction(write=False) as tx:
        (mark,) = tx.lane_marks().values()
    edited = replace(mark, pos=mark.pos - 1)
    with store.transaction() as tx:
        tx.put_lane_marks([edited])
    tampering.set_lane(store, 0, mark.pos - 1, first, 4, "k1")
    problems = found(eng)
    assert "lane 0's verify mark does not match its MAC (edited?)" in problems
    assert any(p.startswith("lane 0's row says it ends at position") for p in problems)


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


def test_a_verify_reads_one_moment_while_another_worker_steps(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a verify reads the store as it was at one moment: a step another worker
    commits while the verify reads is not half seen (its event counted, its instance's row read
    before it), which would be reported as an event nobody accounts for."""
    from fulfil.engine.store.postgres import PostgresStore, PostgresTransaction

    store, elsewhere = PostgresStore(postgres_url), PostgresStore(postgres_url)
    store.upgrade()
    eng, worker = engine(store), engine(elsewhere)
    first, _ = two(eng)
    assert found(eng) == []  # marks every instance
    original = PostgresTransaction.event_counts

    def meanwhile(self: PostgresTransaction) -> tuple[int, int]:
        worker.fire(first, "log_call", CALL, **OPS)  # commits after the rows were read
        return original(self)

    monkeypatch.setattr(PostgresTransaction, "event_counts", meanwhile)
    try:
        assert found(eng) == []
        monkeypatch.undo()
        assert found(eng) == []  # the step is there for the next verify, and holds
    finally:
        elsewhere.close()
        store.close()
