"""The store contract: every store (memory, SQLite, PostgreSQL) passes these unchanged.

PostgreSQL runs against the test server (see `postgres_support`) in a schema of its own per
test, dropped afterwards.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.errors import ConflictError, StoreError, UsageError
from fulfil.engine.store import (
    BatchMember,
    DefinitionRecord,
    EventRecord,
    InstanceRecord,
    MemoryStore,
    OutboxRecord,
    SheetRow,
    SQLiteStore,
    Store,
    TimerRecord,
    open_store,
)
from fulfil.engine.store.base import InstanceFilter, to_iso
from fulfil.engine.store.schema import MIGRATIONS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def instance(id: str = "i-1", **changes: object) -> InstanceRecord:
    base = InstanceRecord(id, "access", 1, "new", {"client": "Acme", "n": 1}, T0, T0, T0)
    return replace(base, **changes)  # type: ignore[arg-type]


class Boom(Exception):
    pass


def test_instance_round_trip(store: Store) -> None:
    """An inserted instance reads back equal, times and JSON data included."""
    record = instance(data={"d": "2026-03-01", "l": ["a", "b"], "b": True, "x": None})
    with store.transaction() as tx:
        tx.insert_instance(record)
    with store.transaction(write=False) as tx:
        assert tx.get_instance("i-1") == record
        assert tx.get_instance("nope") is None


def test_duplicate_id_is_refused(store: Store) -> None:
    """Inserting an id twice is a UsageError naming the id."""
    with store.transaction() as tx:
        tx.insert_instance(instance())
    with pytest.raises(UsageError, match="i-1"), store.transaction() as tx:
        tx.insert_instance(instance())


def test_stale_revision_is_a_conflict(store: Store) -> None:
    """update_instance with an outdated revision raises ConflictError and changes nothing."""
    with store.transaction() as tx:
        tx.insert_instance(instance())
    with store.transaction() as tx:
        tx.update_instance(instance(state="a", rev=2), expected_rev=1)
    with pytest.raises(ConflictError), store.transaction() as tx:
        tx.update_instance(instance(state="b", rev=2), expected_rev=1)
    with store.transaction(write=False) as tx:
        got = tx.get_instance("i-1")
    assert got is not None and (got.state, got.rev) == ("a", 2)


def test_rollback_undoes_every_write(store: Store) -> None:
    """A transaction that raises leaves no instance, event, timer, outbox, row or counter."""
    with store.transaction() as tx:
        tx.insert_instance(instance("keep"))
    with pytest.raises(Boom), store.transaction() as tx:
        tx.insert_instance(instance())
        tx.update_instance(instance("keep", state="moved", rev=2), expected_rev=1)
        tx.append_event(EventRecord("i-1", 1, T0, "a", None, "start"))
        tx.add_timer(TimerRecord("i-1", "t", "new", "go", T0, T0))
        tx.add_outbox(OutboxRecord("i-1", "email", ("x@y",), (), "s", "b", T0))
        tx.add_sheet_row(SheetRow("calls", "i-1", T0, (("A", "1"),)))
        tx.put_definition(DefinitionRecord("access", 1, "h", "src"))
        tx.next_number("access")
        raise Boom
    with store.transaction(write=False) as tx:
        assert tx.get_instance("i-1") is None
        kept = tx.get_instance("keep")
        assert kept is not None and kept.state == "new"
        assert tx.events("i-1") == []
        assert tx.next_due_timer(T0 + timedelta(days=1)) is None
        assert tx.outbox() == []
        assert tx.sheet_rows("calls") == []
        assert tx.get_definition("access", 1) is None
    with store.transaction() as tx:
        assert tx.next_number("access") == 1


def test_events_in_order(store: Store) -> None:
    """Events come back by sequence with their data and detail."""
    with store.transaction() as tx:
        for seq in (1, 2, 3):
            tx.append_event(
                EventRecord(
                    "i-1",
                    seq,
                    T0,
                    "a",
                    "r",
                    "transition",
                    "go",
                    "x",
                    "y",
                    {"n": seq},
                    {"k": [seq]},
                    "p",
                    f"h{seq}",
                )
            )
    with store.transaction(write=False) as tx:
        events = tx.events("i-1")
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].data == {"n": 2} and events[1].detail == {"k": [2]}


def test_timers_due_claim_and_cancel(store: Store) -> None:
    """The earliest due timer is found; a claim succeeds once; cancel drops only that state's."""
    with store.transaction() as tx:
        late = tx.add_timer(TimerRecord("i-1", "late", "a", "go", T0 + timedelta(days=2), T0))
        early = tx.add_timer(TimerRecord("i-1", "early", "a", "go", T0 + timedelta(days=1), T0))
        other = tx.add_timer(TimerRecord("i-1", "other", "b", "go", T0 + timedelta(days=3), T0))
    with store.transaction() as tx:
        assert tx.next_due_timer(T0) is None
        due = tx.next_due_timer(T0 + timedelta(days=5))
        assert due is not None and due.id == early.id
        assert early.id is not None and tx.claim_timer(early.id, T0)
        assert not tx.claim_timer(early.id, T0)
        assert [t.name for t in tx.timers("i-1")] == ["late", "other"]
        assert tx.cancel_timers("i-1", "a") == 1
        assert [t.id for t in tx.timers("i-1")] == [other.id]
        assert late.id != other.id


def test_cancel_one_timer(store: Store) -> None:
    """cancel_timer drops one pending timer; a claimed or unknown one is left, False."""
    with store.transaction() as tx:
        one = tx.add_timer(TimerRecord("i-1", "one", "a", "go", T0 + timedelta(days=1), T0))
        two = tx.add_timer(TimerRecord("i-1", "two", "a", "go", T0 + timedelta(days=2), T0))
        assert one.id is not None and two.id is not None
        assert tx.claim_timer(two.id, T0)
    with store.transaction() as tx:
        assert tx.cancel_timer(one.id)
        assert not tx.cancel_timer(one.id)
        assert not tx.cancel_timer(two.id)  # fired: history, not pending
        assert tx.timers("i-1") == []


def test_find_instances_by_state_oldest_activity_first(store: Store) -> None:
    """find_instances selects by (process, state), least recent activity first."""
    with store.transaction() as tx:
        tx.insert_instance(instance("a", state="s", last_activity_at=T0 + timedelta(hours=2)))
        tx.insert_instance(instance("b", state="s", last_activity_at=T0))
        tx.insert_instance(instance("c", state="t"))
        tx.insert_instance(instance("d", process="other", state="s"))
    with store.transaction(write=False) as tx:
        assert [r.id for r in tx.find_instances([("access", "s")])] == ["b", "a"]
        assert {r.id for r in tx.find_instances([("access", "t"), ("other", "s")])} == {"c", "d"}
        assert tx.find_instances([]) == []
        assert list(tx.instance_ids()) == ["a", "b", "c", "d"]


def test_search_instances_by_versioned_state_keys_text_and_assignee(store: Store) -> None:
    """search_instances: (process, state, versions) keys, text in the id or data, "" for the
    unassigned, pages by last activity after a keyset position; counts and stored versions."""
    hour = timedelta(hours=1)
    with store.transaction() as tx:
        tx.insert_instance(instance("a", version=1, state="s", last_activity_at=T0 + 3 * hour))
        tx.insert_instance(instance("b", version=2, state="s", last_activity_at=T0 + hour))
        tx.insert_instance(instance("c", version=1, state="s", data={"client": "Zed_100%"}))
        tx.insert_instance(instance("d", version=2, state="t", assignee="sam"))
        tx.insert_instance(instance("e", process="other", state="s"))
        tx.put_definition(DefinitionRecord("access", 2, "h2", ""))
        tx.put_definition(DefinitionRecord("access", 1, "h1", ""))
    oldest = InstanceFilter(order="last_activity_at", descending=False)

    def ids(query: InstanceFilter, limit: int = 10) -> list[str]:
        with store.transaction(write=False) as tx:
            return [r.id for r in tx.search_instances(query, limit)]

    assert ids(replace(oldest, states=(("access", "s", ()),))) == ["c", "b", "a"]
    assert ids(replace(oldest, states=(("access", "s", (1,)), ("other", "s", ())))) == [
        "c",
        "e",
        "a",
    ]
    assert ids(replace(oldest, states=(("access", "s", (2,)), ("access", "t", (1,))))) == ["b"]
    assert ids(replace(oldest, states=())) == []
    assert ids(replace(oldest, text="ZED_100%")) == ["c"]
    assert ids(replace(oldest, text="_1")) == ["c"]  # _ and % are plain characters
    assert ids(replace(oldest, text="B")) == ["b"]  # the id
    assert ids(replace(oldest, assignee="")) == ["c", "e", "b", "a"]
    assert ids(replace(oldest, assignee="sam")) == ["d"]
    keys = (("access", "s", ()), ("access", "t", ()))
    first = ids(replace(oldest, states=keys), 2)
    assert first == ["c", "d"]  # c and d tie on last activity: by id
    after = (to_iso(T0), "d")
    assert ids(replace(oldest, states=keys, after=after), 2) == ["b", "a"]
    newest = InstanceFilter(states=keys, order="last_activity_at")
    assert ids(newest, 3) == ["a", "b", "d"]
    with store.transaction(write=False) as tx:
        assert tx.count_instances("access") == {"s": 3, "t": 1}
        assert tx.count_instances("nothing") == {}
        assert tx.definition_versions() == [("access", 1), ("access", 2)]


def test_children_of_an_instance(store: Store) -> None:
    """children() returns the instances whose parent is the given id."""
    with store.transaction() as tx:
        tx.insert_instance(instance("p"))
        tx.insert_instance(instance("k1", parent="p", task="intake"))
        tx.insert_instance(instance("k2", parent="p", task="access"))
    with store.transaction(write=False) as tx:
        assert [(k.id, k.task) for k in tx.children("p")] == [("k1", "intake"), ("k2", "access")]
        assert tx.children("k1") == []


def test_outbox_status_and_update(store: Store) -> None:
    """Outbox rows get ids in order; update_outbox changes status; the filter selects by it."""
    with store.transaction() as tx:
        first = tx.add_outbox(OutboxRecord("i", "email", ("a@x",), ("c@x",), "s1", "b", T0))
        second = tx.add_outbox(OutboxRecord("i", "email", ("b@x",), (), "s2", "b", T0))
        tx.update_outbox(replace(first, status="sent", attempts=1, delivered_at=T0))
    with store.transaction(write=False) as tx:
        assert [m.subject for m in tx.outbox()] == ["s1", "s2"]
        assert [m.id for m in tx.outbox("pending")] == [second.id]
        sent = tx.outbox("sent")[0]
    assert sent.to == ("a@x",) and sent.cc == ("c@x",) and sent.delivered_at == T0


def test_sheet_rows_and_definitions_and_counters(store: Store) -> None:
    """Sheet rows keep order and columns; definitions read back; counters count up."""
    with store.transaction() as tx:
        tx.add_sheet_row(SheetRow("calls", "i", T0, (("B", "2"), ("A", "1"))))
        tx.add_sheet_row(SheetRow("calls", "j", T0, (("B", "3"),)))
        tx.put_definition(DefinitionRecord("access", 1, "h1", "id: access"))
        assert [tx.next_number("n"), tx.next_number("n"), tx.next_number("m")] == [1, 2, 1]
    with store.transaction(write=False) as tx:
        rows = tx.sheet_rows("calls")
        assert [r.values for r in rows] == [(("B", "2"), ("A", "1")), (("B", "3"),)]
        assert tx.get_definition("access", 1) == DefinitionRecord("access", 1, "h1", "id: access")
        assert tx.get_definition("access", 2) is None


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    _containers,
    max_leaves=10,
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6))
def test_any_json_data_round_trips(store: Store, data: dict[str, object]) -> None:
    """Whatever JSON data an instance carries is read back equal."""
    record = instance(f"h-{abs(hash(repr(data)))}-{id(data)}", data=data)
    with store.transaction() as tx:
        tx.insert_instance(record)
    with store.transaction(write=False) as tx:
        assert tx.get_instance(record.id) == record


def test_open_store_by_url(tmp_path: Path) -> None:
    """open_store picks the store by scheme and explains an unknown one."""
    assert isinstance(open_store("memory://"), MemoryStore)
    sqlite = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(sqlite, SQLiteStore)
    sqlite.close()
    with pytest.raises(UsageError, match="sqlite:///FILE"):
        open_store("mysql://x")


def test_postgres_without_its_module_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A postgresql:// URL without the postgres store says how to install it."""
    monkeypatch.setitem(sys.modules, "fulfil.engine.store.postgres", None)
    with pytest.raises(UsageError, match=r"fulfil\[postgres\]"):
        open_store("postgresql://u@h/db")


def test_sqlite_unopenable_file_is_a_store_error(tmp_path: Path) -> None:
    """A path that cannot hold a database gives a StoreError saying what to check."""
    with pytest.raises(StoreError, match="folder exists"):
        SQLiteStore(tmp_path / "missing" / "x.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="fulfil database"):
        SQLiteStore(junk)


def test_sqlite_schema_is_versioned_and_upgrade_idempotent(tmp_path: Path) -> None:
    """A new file gets every migration; upgrading again applies nothing; WAL is on."""
    path = tmp_path / "v.db"
    store = SQLiteStore(path)
    assert store.schema_version() == MIGRATIONS[-1][0]
    assert store.upgrade() == []
    assert store.execute("PRAGMA journal_mode")[0][0] == "wal"
    store.close()
    again = SQLiteStore(path)
    assert again.schema_version() == MIGRATIONS[-1][0]
    again.close()


def test_outbox_attachments_and_retry_time_round_trip(store: Store) -> None:
    """Attachments and next_attempt_at read back; a pending message waits for its retry time."""
    csv_file = ("list-2026-03-02.csv", "text/csv", 'name\r\nAnn, "Jr"\r\n')
    with store.transaction() as tx:
        queued = tx.add_outbox(
            OutboxRecord("batch:p:s", "email", ("a@x",), (), "s", "b", T0, attachments=(csv_file,))
        )
        later = T0 + timedelta(minutes=2)
        tx.update_outbox(replace(queued, attempts=1, error="421 busy", next_attempt_at=later))
    with store.transaction() as tx:
        [read] = tx.outbox()
        assert read.attachments == (csv_file,) and read.next_attempt_at == later
        assert tx.claim_outbox(T0 + timedelta(minutes=1), T0 + timedelta(minutes=11)) is None
        claimed = tx.claim_outbox(later, later + timedelta(minutes=10))
    assert claimed is not None and claimed.status == "sending"
    assert claimed.next_attempt_at == later + timedelta(minutes=10)


def test_batch_members_taken_once_and_dropped_on_leaving(store: Store) -> None:
    """take_batch marks members up to a period once; leave_batch drops only unsent ones."""
    week = T0 + timedelta(days=7)
    with store.transaction() as tx:
        for name, period in (("a", week), ("b", week), ("c", week + timedelta(days=7))):
            tx.add_batch_member(BatchMember("p", "list", name, period, T0))
        tx.add_batch_member(BatchMember("other", "list", "z", week, T0))
        assert tx.leave_batch("b", "list") == 1
    with store.transaction() as tx:
        taken = tx.take_batch("p", "list", week, 7)
        assert [(m.instance, m.batch) for m in taken] == [("a", 7)]
        assert tx.take_batch("p", "list", week, 8) == []
        assert tx.leave_batch("a", "list") == 0  # already sent: kept as the record of its batch
    with store.transaction() as tx:
        tx.add_batch_member(BatchMember("p", "list", "d", week, T0))
        taken_later = tx.take_batch("p", "list", week + timedelta(days=7), 9)
        assert [m.instance for m in taken_later] == ["c", "d"]
