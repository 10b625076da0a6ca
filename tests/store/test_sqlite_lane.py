"""SQLite's audit lane as a connection knows it: moved on without a read while its row is the one
the connection committed, read again whenever anything else changed it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESS = """
id: toggle
version: 1
states:
  a: {initial: true}
  b: {}
  done: {terminal: true}
transitions:
  - {trigger: go, source: a, dest: b}
  - {trigger: back, source: b, dest: a}
  - {trigger: finish, source: [a, b], dest: done}
"""


def engine(path: Path) -> Engine:
    catalog = Catalog((load_text(PROCESS, "toggle.yaml").process,))
    return Engine(catalog, store=SQLiteStore(path), clock=ManualClock(T0))


def flip(eng: Engine, instance: str) -> None:
    eng.fire(instance, "go" if eng.show(instance).state == "a" else "back")


def statements(eng: Engine, instance: str) -> list[str]:
    """The statements one fire runs."""
    store = eng.store
    assert isinstance(store, SQLiteStore)
    ran: list[str] = []
    store._conn.set_trace_callback(ran.append)
    try:
        eng.fire(instance, "go" if eng.show(instance).state == "a" else "back")
    finally:
        store._conn.set_trace_callback(None)
    return [s for s in ran if "audit_lanes" in s]


def whole(path: Path) -> None:
    """The store-wide sequence has no hole and every seal and link holds."""
    conn = sqlite3.connect(path)
    positions = [pos for (pos,) in conn.execute("SELECT pos FROM events ORDER BY lane, pos")]
    conn.close()
    assert positions == list(range(1, len(positions) + 1))
    assert engine(path).verify(full=True).ok


def test_a_step_moves_the_known_lane_without_reading_it(tmp_path: Path) -> None:
    eng = engine(tmp_path / "e.db")
    instance = eng.start("toggle").id
    flip(eng, instance)
    ran = statements(eng, instance)
    assert len(ran) == 1 and ran[0].startswith("UPDATE audit_lanes"), ran
    whole(tmp_path / "e.db")


def test_a_lane_another_connection_moved_is_read_again(tmp_path: Path) -> None:
    """Two stores on one file, steps alternating: each sees the other's lane moves."""
    one, two = engine(tmp_path / "e.db"), engine(tmp_path / "e.db")
    first, second = one.start("toggle").id, two.start("toggle").id
    for _ in range(5):
        flip(one, first)
        flip(two, second)
    ran = statements(one, first)
    assert any(s.startswith("SELECT") for s in ran), ran  # the known row was not the row
    whole(tmp_path / "e.db")


def test_a_lane_changed_by_raw_sql_is_read_again(tmp_path: Path) -> None:
    """Raw SQL on the store's own connection changes the row: the next step reads it."""
    eng = engine(tmp_path / "e.db")
    instance = eng.start("toggle").id
    flip(eng, instance)
    store = eng.store
    assert isinstance(store, SQLiteStore)
    store.execute("UPDATE audit_lanes SET key_check = key_check WHERE lane = 0")  # unchanged
    assert len(statements(eng, instance)) == 1
    store.execute("UPDATE audit_lanes SET seq = seq + 100 WHERE lane = 0")
    ran = statements(eng, instance)
    assert any(s.startswith("SELECT") for s in ran), ran


def test_a_rolled_back_step_leaves_the_lane_to_be_read(tmp_path: Path) -> None:
    """A transaction that moved the lane and rolled back: the next step reads the lane."""
    eng = engine(tmp_path / "e.db")
    instance = eng.start("toggle").id
    flip(eng, instance)
    with pytest.raises(RuntimeError), eng.store.transaction() as tx:
        tx.next_position("x", 1, "", "")
        raise RuntimeError("undone")
    ran = statements(eng, instance)
    assert any(s.startswith("SELECT") for s in ran), ran
    flip(eng, instance)
    whole(tmp_path / "e.db")
