"""Copying one fulfil SQLite database into another with every id kept (what the demo does)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import StoreError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store
from fulfil.engine.store.base import (
    DefinitionRecord,
    EventRecord,
    InstanceRecord,
    OutboxRecord,
    SheetRow,
    TimerRecord,
)
from fulfil.engine.store.sqlite_copy import RESERVED, copy_rows, highest_ids, reserve_ids

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
SHIPPED = Path(__file__).resolve().parents[2] / "processes"


def fill(path: Path, instance: str, messages: int = 2) -> None:
    """An instance with an event, a pending timer, messages, a sheet row, a counter."""
    store = open_store(f"sqlite:///{path}")
    try:
        with store.transaction() as tx:
            tx.put_definition(DefinitionRecord("p", 1, "h", "text"))
            tx.insert_instance(InstanceRecord(instance, "p", 1, "new", {}, T0, T0, T0))
            tx.append_event(EventRecord(instance, 1, T0, "sam", None, "start", dest="new"))
            tx.add_timer(TimerRecord(instance, "remind", "new", "remind", T0, T0))
            for number in range(messages):
                tx.add_outbox(
                    OutboxRecord(instance, "email", ("a@x.test",), (), f"m{number}", "", T0)
                )
            tx.add_sheet_row(SheetRow("tracker", instance, T0, (("client", instance),)))
            tx.next_number(instance)
    finally:
        store.close()


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_copied_rows_keep_their_ids_after_the_targets(tmp_path: Path) -> None:
    """A database numbered after the target's highest ids is copied with its ids unchanged."""
    target, own = tmp_path / "target.db", tmp_path / "own.db"
    fill(target, "a", messages=3)
    floors = highest_ids(target)
    assert floors == {"timers": 1, "outbox": 3, "sheet_rows": 1, "audit_lanes": 0}
    open_store(f"sqlite:///{own}").close()
    reserve_ids(own, floors)
    fill(own, "b")
    assert rows(own, "SELECT id FROM outbox WHERE instance = 'b'") == [(4,), (5,)]
    copy_rows(own, target, floors)
    assert rows(target, "SELECT id, instance FROM outbox ORDER BY id") == [
        (1, "a"),
        (2, "a"),
        (3, "a"),
        (4, "b"),
        (5, "b"),
    ]
    assert rows(target, "SELECT id, instance FROM timers ORDER BY id") == [(1, "a"), (2, "b")]
    assert rows(target, "SELECT instance FROM events ORDER BY instance") == [("a",), ("b",)]
    assert rows(target, "SELECT COUNT(*) FROM definitions") == [(1,)]
    assert rows(target, f"SELECT COUNT(*) FROM outbox WHERE instance = '{RESERVED}'") == [(0,)]


def test_reserved_rows_are_invisible_to_the_store(tmp_path: Path) -> None:
    """The reserved rows are no due timer, no deliverable message and no sheet's row."""
    own = tmp_path / "own.db"
    store = open_store(f"sqlite:///{own}")
    try:
        reserve_ids(own, {"timers": 7, "outbox": 7, "sheet_rows": 7})
        with store.transaction() as tx:
            assert tx.next_due_timer(datetime(2100, 1, 1, tzinfo=UTC)) is None
            assert tx.claim_outbox(T0, T0) is None
            assert tx.sheet_rows("tracker") == []
            assert [m.instance for m in tx.outbox()] == [RESERVED]
            added = tx.add_outbox(OutboxRecord("b", "email", ("a@x.test",), (), "s", "", T0))
        assert added.id == 8
    finally:
        store.close()


def test_counters_keep_the_larger_value(tmp_path: Path) -> None:
    """A counter both databases have ends at the larger of the two values."""
    target, own = tmp_path / "target.db", tmp_path / "own.db"
    for path, times in ((target, 3), (own, 5)):
        store = open_store(f"sqlite:///{path}")
        with store.transaction() as tx:
            for _ in range(times):
                tx.next_number("p")
        store.close()
    copy_rows(own, target, highest_ids(target))
    assert rows(target, "SELECT name, value FROM counters") == [("p", 5)]


def test_a_colliding_instance_copies_nothing(tmp_path: Path) -> None:
    """An instance id the target already has is an error, and the target is left as it was."""
    target, own = tmp_path / "target.db", tmp_path / "own.db"
    fill(target, "a")
    floors = highest_ids(target)
    open_store(f"sqlite:///{own}").close()
    reserve_ids(own, floors)
    fill(own, "a")
    with pytest.raises(StoreError, match="cannot copy"):
        copy_rows(own, target, floors)
    assert rows(target, "SELECT COUNT(*) FROM outbox") == [(2,)]


def started(path: Path, instance: str) -> None:
    """A facebook_access instance started through the engine (its events sealed in a lane)."""
    store = open_store(f"sqlite:///{path}")
    try:
        engine = Engine(load_directory(SHIPPED), store=store, clock=ManualClock(T0))
        data = {"client": "Acme", "client_email": "a@acme.example", "fr_number": "FR-1"}
        engine.start("facebook_access", data, id=instance, actor="alex", role="account_manager")
    finally:
        store.close()


def test_a_copy_keeps_the_store_wide_sequence_whole(tmp_path: Path) -> None:
    """The copied database sealed into a lane of its own: the target verifies, lanes 0 and 1."""
    target, own = tmp_path / "target.db", tmp_path / "own.db"
    started(target, "a")
    floors = highest_ids(target)
    open_store(f"sqlite:///{own}").close()
    reserve_ids(own, floors)
    started(own, "b")
    copy_rows(own, target, floors)
    assert rows(target, "SELECT DISTINCT lane, instance FROM events ORDER BY lane") == [
        (0, "a"),
        (1, "b"),
    ]
    store = open_store(f"sqlite:///{target}")
    try:
        assert Engine(load_directory(SHIPPED), store=store, clock=ManualClock(T0)).verify().ok
    finally:
        store.close()
