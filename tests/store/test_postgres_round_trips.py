"""A PostgreSQL step sends BEGIN with its first read and its last history event with the
instance's write-back, and that changes nothing a reader, a racing writer or a rollback can
see."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import AlreadyExists, ConflictError, StoreError
from fulfil.engine.runtime import Engine, StepContext
from fulfil.engine.store import InstanceRecord
from fulfil.engine.store.base import EventRecord
from fulfil.engine.store.postgres import PostgresStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESS = """
id: counter
version: 1
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  done: {terminal: true}
transitions:
  - trigger: bump
    source: a
    dest: a
    actions:
      - set: {n: "n + 1"}
  - trigger: finish
    source: a
    dest: done
"""


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    made = PostgresStore(postgres_url)
    made.upgrade()
    yield made
    made.close()


def _record(instance: str = "i-1") -> InstanceRecord:
    return InstanceRecord(instance, "counter", 1, "a", {"n": 0}, T0, T0, T0)


def _event(instance: str = "i-1", seq: int = 1) -> EventRecord:
    return EventRecord(instance, seq, T0, "sam", None, "transition", "bump", "a", "a")


def _count_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement a psycopg cursor sends from now on (COMMIT is not sent by a cursor)."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counting(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query.decode() if isinstance(query, bytes) else str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    return sent


@contextmanager
def _round_trips(store: PostgresStore) -> Iterator[list[list[str]]]:
    """The round trips the store's connection makes in the block: each is the names of the
    messages sent before the answers are waited for (libpq's trace of the protocol)."""
    trips: list[list[str]] = []
    pgconn = store._conn.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield trips
        finally:
            pgconn.untrace()
        trace.seek(0)
        answered = True
        for line in trace:
            side, _, name = line.split("\t")[:3]
            if side == "F":
                if answered:
                    trips.append([])
                trips[-1].append(name.strip())
            answered = side == "B"


def test_a_fire_is_three_round_trips(store: PostgresStore) -> None:
    """A fire waits for the server three times, once fewer than the bare statements of a step
    (BEGIN, read, write, COMMIT): BEGIN with the read that locks a lane (one query), the
    write-back with the event and the lane, COMMIT."""
    engine = Engine(Catalog((load_text(PROCESS).process,)), store=store, clock=ManualClock(T0))
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")
    with _round_trips(store) as trips:
        engine.fire("c-1", "bump")
    assert len(trips) == 3, trips
    assert trips[0] == trips[-1] == ["Query"]  # BEGIN and the read; COMMIT
    assert trips[1].count("Execute") == 1
    assert engine.show("c-1").data["n"] == 2


def test_a_transaction_that_sends_nothing_makes_no_round_trip(store: PostgresStore) -> None:
    """No statement, no BEGIN and no COMMIT."""
    with _round_trips(store) as trips, store.transaction() as tx:
        assert tx is not None
    assert trips == []


@pytest.mark.parametrize("instance", ["it's", "back\\slash", "é 'quoted' \\'", "%s $1"])
def test_the_first_read_reads_any_instance_id(store: PostgresStore, instance: str) -> None:
    """The first read's instance id is written into its query as a literal: quotes,
    backslashes and placeholders in it read the instance they name, and nothing else."""
    with store.transaction() as tx:
        tx.insert_instance(_record(instance))
        tx.insert_instance(_record("other"))
    with store.transaction() as tx:
        found = tx.get_instance(instance)
        assert found is not None and found.id == instance
    with store.transaction() as tx:
        assert tx.get_instance(instance + "'") is None


def test_the_first_read_is_prepared_again_when_psycopg_dropped_it(store: PostgresStore) -> None:
    """psycopg drops a connection's prepared statements on some commands (DEALLOCATE ALL, a
    ROLLBACK TO SAVEPOINT): the next step's first read prepares it again and reads."""
    engine = Engine(Catalog((load_text(PROCESS).process,)), store=store, clock=ManualClock(T0))
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")
    store._session.cursor.execute("DEALLOCATE ALL")
    engine.fire("c-1", "bump")
    with store.transaction() as tx:
        mark = tx.savepoint()
        tx.rollback_to(mark)
        tx.release(mark)
    engine.fire("c-1", "bump")
    assert engine.show("c-1").data["n"] == 3
    assert engine.verify("c-1").ok


def test_a_first_read_that_fails_rolls_its_begin_back(store: PostgresStore) -> None:
    """The first read fails after the BEGIN sent with it ran (here a statement of the read's
    name that divides by zero): the step is a StoreError, its transaction is rolled back, and
    the next step prepares the read again and works."""
    engine = Engine(Catalog((load_text(PROCESS).process,)), store=store, clock=ManualClock(T0))
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")
    store.execute("DEALLOCATE fulfil_step_read")
    store.execute("PREPARE fulfil_step_read(text) AS SELECT 1 / (length($1) - length($1))")
    with pytest.raises(StoreError, match="division by zero"):
        engine.fire("c-1", "bump")
    engine.fire("c-1", "bump")
    assert engine.show("c-1").data["n"] == 2
    assert engine.verify("c-1").ok


def test_an_error_in_the_first_statement_is_its_own_and_rolls_back(
    store: PostgresStore,
) -> None:
    """The first statement, sent with BEGIN, raises its own error where it runs (a taken id:
    AlreadyExists), and the transaction is rolled back; the next one works."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.insert_instance(_record())
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        assert tx.get_instance("i-1") is not None
        tx.insert_instance(_record("i-2"))
        tx.insert_instance(_record())
    with store.transaction() as tx:
        assert tx.get_instance("i-2") is None
        tx.insert_instance(_record("i-3"))
    assert store.execute("SELECT id FROM instances ORDER BY id") == [("i-1",), ("i-3",)]


def test_a_reading_transaction_reads_one_snapshot(store: PostgresStore) -> None:
    """A reading transaction begins REPEATABLE READ with its first statement: a step committed
    after that statement is not seen by its later ones."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
    with store.transaction(write=False) as reader:
        first = reader.get_instance("i-1")
        other = PostgresStore(store.url)
        with other.transaction() as tx:
            tx.update_instance(replace(_record(), rev=2, state="done"), expected_rev=1)
        other.close()
        assert reader.get_instance("i-1") == first
    with store.transaction(write=False) as reader:
        found = reader.get_instance("i-1")
        assert found is not None and found.state == "done"


def test_a_step_hook_cursor_runs_in_the_transaction(store: PostgresStore) -> None:
    """A hook's cursor taken before any statement was sent is inside the transaction: what it
    writes is rolled back with the step."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.db_cursor.execute("DELETE FROM instances")
        raise RuntimeError("the step failed")
    assert store.execute("SELECT id FROM instances") == [("i-1",)]


def test_a_fire_sends_its_event_with_the_write_back(
    store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fire is two statements: BEGIN with the read of the instance that locks a free audit
    lane (one query), then the lane's move and the event with the revision-checked
    write-back."""
    engine = Engine(Catalog((load_text(PROCESS).process,)), store=store, clock=ManualClock(T0))
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")  # definitions read and cached: the next fire is a plain step
    sent = _count_statements(monkeypatch)
    engine.fire("c-1", "bump")
    assert len(sent) == 2, sent
    assert sent[0] == "BEGIN; EXECUTE fulfil_step_read('c-1')"
    assert sent[-1].startswith("WITH moved AS (UPDATE audit_lanes")
    assert "INSERT INTO events" in sent[-1]
    assert "UPDATE instances" in sent[-1]
    assert [e.trigger for e in engine.history("c-1")][-2:] == ["bump", "bump"]
    assert engine.show("c-1").data["n"] == 2
    assert engine.verify("c-1").ok


def test_a_conflicting_write_back_rolls_its_event_back(store: PostgresStore) -> None:
    """The revision check fails (someone else moved the instance on): ConflictError, and the
    event sent with the write-back is not in the history either."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
    with pytest.raises(ConflictError, match="changed since it was read"), store.transaction() as tx:
        tx.append_event(_event())
        tx.update_instance(replace(_record(), rev=2, seq=1), expected_rev=7)
    with store.transaction() as tx:
        assert tx.events("i-1") == []
        found = tx.get_instance("i-1")
        assert found is not None and found.rev == 1


def test_an_event_another_writer_appended_first_is_a_conflict(store: PostgresStore) -> None:
    """Two writers appending the same event number: the second, sent with its write-back, is
    a ConflictError (a lost race the engine retries), and its write-back is undone."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
        tx.append_event(_event())
    with pytest.raises(ConflictError, match="written by another worker"), store.transaction() as tx:
        tx.append_event(_event())
        tx.update_instance(replace(_record(), rev=2, seq=1, state="done"), expected_rev=1)
    with store.transaction() as tx:
        assert len(tx.events("i-1")) == 1
        found = tx.get_instance("i-1")
        assert found is not None and (found.rev, found.state) == (1, "a")


def test_a_held_event_is_seen_by_every_later_statement_and_committed(
    store: PostgresStore,
) -> None:
    """An event appended without a write-back after it is still read back in its transaction,
    by the step hook's own cursor too, and committed."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
        tx.append_event(_event())
        assert [e.seq for e in tx.events("i-1")] == [1]
        tx.append_event(_event(seq=2))
        count = tx.db_cursor.execute("SELECT count(*) FROM events").fetchone()
        assert count == (2,)
        tx.append_event(_event(seq=3))  # the last: sent when the transaction commits
    with store.transaction() as tx:
        assert [e.seq for e in tx.events("i-1")] == [1, 2, 3]


def test_a_held_event_of_another_instance_goes_on_its_own(store: PostgresStore) -> None:
    """The write-back of a different instance does not take the held event with it."""
    with store.transaction() as tx:
        tx.insert_instance(_record("i-1"))
        tx.insert_instance(_record("i-2"))
    with store.transaction() as tx:
        tx.append_event(_event("i-1"))
        tx.update_instance(replace(_record("i-2"), rev=2), expected_rev=1)
    with store.transaction() as tx:
        assert [e.instance for e in tx.events("i-1")] == ["i-1"]
        found = tx.get_instance("i-2")
        assert found is not None and found.rev == 2


def test_a_block_that_raises_drops_the_held_event(store: PostgresStore) -> None:
    """A step that fails after appending rolls back: the held event is never sent."""
    with store.transaction() as tx:
        tx.insert_instance(_record())
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.append_event(_event())
        raise RuntimeError("the step failed")
    with store.transaction() as tx:
        assert tx.events("i-1") == []


def test_a_step_hook_cursor_is_its_own(store: PostgresStore) -> None:
    """The store keeps one cursor for all its transactions; a hook's cursor is another one on
    the same transaction: a hook that gives it dict rows and closes it breaks no later step."""
    seen: list[Any] = []

    def hook(step: StepContext) -> None:
        step.cursor.row_factory = psycopg.rows.dict_row
        seen.append(step.cursor.execute("SELECT count(*) AS n FROM events").fetchone())
        step.cursor.close()

    catalog = Catalog((load_text(PROCESS).process,))
    engine = Engine(catalog, store=store, clock=ManualClock(T0), step_hooks=[hook])
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")
    engine.fire("c-1", "bump")
    assert seen == [{"n": 1}, {"n": 2}, {"n": 3}]  # the step's own event is seen
    assert engine.show("c-1").data["n"] == 2


def test_a_transaction_inside_another_is_refused_and_undoes_the_outer(
    store: PostgresStore,
) -> None:
    """A transaction opened inside another on the same store (a step hook that starts a step
    of its own) is a StoreError: it does not commit the outer one's statements, and the outer
    one is rolled back whole."""
    with pytest.raises(StoreError, match="inside another"), store.transaction() as tx:
        tx.insert_instance(_record("i-1"))
        with store.transaction() as inner:
            inner.insert_instance(_record("i-2"))
    assert store.execute("SELECT id FROM instances") == []
    with store.transaction() as tx:
        tx.insert_instance(_record("i-3"))
    assert store.execute("SELECT id FROM instances") == [("i-3",)]


def test_a_step_hook_that_fires_another_step_is_refused_whole(store: PostgresStore) -> None:
    """A step hook firing another instance's step: neither step is stored, nor half of one;
    the history verifies."""
    engines: list[Engine] = []

    def hook(step: StepContext) -> None:
        if step.trigger == "bump" and step.instance.id == "c-1":
            engines[0].fire("c-2", "bump")

    catalog = Catalog((load_text(PROCESS).process,))
    engines.append(Engine(catalog, store=store, clock=ManualClock(T0), step_hooks=[hook]))
    engine = engines[0]
    engine.start("counter", id="c-1")
    engine.start("counter", id="c-2")
    with pytest.raises(StoreError, match="inside another"):
        engine.fire("c-1", "bump")
    assert engine.show("c-1").data["n"] == engine.show("c-2").data["n"] == 0
    assert [e.trigger for e in engine.history("c-1")] == [None]
    engine.fire("c-2", "bump")
    assert engine.show("c-2").data["n"] == 1
    assert engine.verify().ok


def test_a_step_whose_failed_statement_was_caught_is_not_told_written(
    store: PostgresStore,
) -> None:
    """A step hook catches the error of its failed statement: the transaction is aborted and
    COMMIT would undo it silently; the step is a StoreError instead, nothing of it is
    stored, and the next step works."""

    def hook(step: StepContext) -> None:
        if step.trigger == "bump":
            with suppress(psycopg.errors.UndefinedTable):
                step.cursor.execute("SELECT * FROM no_such_table")

    catalog = Catalog((load_text(PROCESS).process,))
    engine = Engine(catalog, store=store, clock=ManualClock(T0), step_hooks=[hook])
    engine.start("counter", id="c-1")
    with pytest.raises(StoreError, match="error was caught"):
        engine.fire("c-1", "bump")
    assert engine.show("c-1").data["n"] == 0
    assert [e.trigger for e in engine.history("c-1")] == [None]
    engine.fire("c-1", "finish")
    assert engine.show("c-1").state == "done"
    assert engine.verify("c-1").ok


def test_a_hook_that_rolls_back_to_its_own_savepoint_keeps_the_step(
    store: PostgresStore,
) -> None:
    """A step hook that undoes its failed statement to a savepoint of its own: the step is
    written whole, and the next steps prepare their read again and work."""

    def hook(step: StepContext) -> None:
        step.cursor.execute("SAVEPOINT mine")
        with suppress(psycopg.errors.UndefinedTable):
            step.cursor.execute("SELECT * FROM no_such_table")
        step.cursor.execute("ROLLBACK TO SAVEPOINT mine")
        step.cursor.execute("DEALLOCATE ALL")

    catalog = Catalog((load_text(PROCESS).process,))
    engine = Engine(catalog, store=store, clock=ManualClock(T0), step_hooks=[hook])
    engine.start("counter", id="c-1")
    for _ in range(3):
        engine.fire("c-1", "bump")
    assert engine.show("c-1").data["n"] == 3
    assert engine.verify("c-1").ok


def test_a_fire_after_a_rolled_back_step_prepares_its_read_with_it(store: PostgresStore) -> None:
    """After a step rolled back, whole or to a savepoint (psycopg may have dropped the prepared
    read, or not), the next fire sends the read's PREPARE with its first query: one round trip
    more than a fire at most, and the fire after it is three again."""
    engine = Engine(Catalog((load_text(PROCESS).process,)), store=store, clock=ManualClock(T0))
    engine.start("counter", id="c-1")
    engine.fire("c-1", "bump")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        assert tx.get_instance("c-1") is not None
        raise RuntimeError("the step failed")
    with _round_trips(store) as after_rollback:
        engine.fire("c-1", "bump")
    with _round_trips(store) as next_one:
        engine.fire("c-1", "bump")
    assert len(after_rollback) <= 4 and len(next_one) == 3, (after_rollback, next_one)
    with store.transaction() as tx:
        assert tx.get_instance("c-1") is not None
        tx.rollback_to(tx.savepoint())
    with _round_trips(store) as after_savepoint:
        engine.fire("c-1", "bump")
    assert len(after_savepoint) <= 4, after_savepoint
    assert engine.show("c-1").data["n"] == 4
    assert engine.verify("c-1").ok
