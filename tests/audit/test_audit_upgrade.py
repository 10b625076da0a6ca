"""A database written before the keyed, placed history: upgraded in place, it still verifies."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from audit_support import CLIENT, KEYS, OPS, T0, engine
from fulfil.engine.audit import UNKEYED
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime.history import legacy_canonical
from fulfil.engine.store import MemoryStore, SQLiteStore
from fulfil.engine.store.base import EventRecord, to_iso
from fulfil.engine.store.schema import MIGRATIONS


def old_database(path: Path) -> str:
    """A SQLite file at schema version 4 holding one instance with format-1 events."""
    memory = MemoryStore()
    eng = engine(memory, UNKEYED)
    instance = eng.start("access", CLIENT, **OPS).id
    eng.fire(instance, "begin", **OPS)
    with memory.transaction() as tx:
        record = tx.get_instance(instance)
        events = tx.events(instance)
        definition = tx.get_definition("access", 1)
    assert record is not None and definition is not None
    legacy: list[EventRecord] = []
    for event in events:
        old = replace(event, lane=None, pos=None, after=None, key="")
        old = replace(old, prev_hash=legacy[-1].hash if legacy else "")
        text = old.prev_hash + legacy_canonical(old)
        legacy.append(replace(old, hash=hashlib.sha256(text.encode()).hexdigest()))
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, statements in MIGRATIONS[:4]:
            for statement in statements:
                conn.execute(statement.replace("{id}", "INTEGER PRIMARY KEY"))
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute(
            "INSERT INTO definitions VALUES (?, ?, ?, ?)",
            (definition.process, definition.version, definition.source_hash, definition.source),
        )
        import json

        conn.execute(
            "INSERT INTO instances VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?, 1)",
            (
                record.id,
                record.process,
                record.version,
                record.state,
                json.dumps(record.data),
                record.rev,
                record.seq,
                legacy[-1].hash,
                to_iso(record.created_at),
                to_iso(record.updated_at),
                to_iso(record.last_activity_at),
            ),
        )
        for e in legacy:
            conn.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    e.instance,
                    e.seq,
                    to_iso(e.at),
                    e.actor,
                    e.role,
                    e.kind,
                    e.trigger,
                    e.source,
                    e.dest,
                    json.dumps(e.data),
                    json.dumps(e.detail),
                    e.prev_hash,
                    e.hash,
                ),
            )
    return instance


def test_an_old_database_upgrades_and_verifies(tmp_path: Path) -> None:
    """Opening a version-4 file applies migration 5; its old events verify (noted as sealed
    without a key), new ones are placed and keyed, and the whole store verifies."""
    path = tmp_path / "old.db"
    instance = old_database(path)
    store = SQLiteStore(path)
    assert store.schema_version() == MIGRATIONS[-1][0]
    clock = ManualClock(T0 + timedelta(hours=1))
    eng = engine(store, KEYS, clock)
    report = eng.verify()
    assert report.ok, report.problems
    assert report.notes == (
        "2 event(s) were sealed without a key (before one was set): they detect accidents, "
        "not a forger",
    )
    eng.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
    history = eng.history(instance)
    assert [e.lane for e in history] == [None, None, 0, 0, 0]
    assert [e.key for e in history] == ["", "", "k1", "k1", "k1"]
    assert eng.verify().ok
    store.execute("UPDATE events SET actor = 'mallory' WHERE seq = 1")
    assert [str(p) for p in eng.verify(instance).problems] == [
        f"{instance} event 1: its content does not match its hash (edited?)"
    ]
    store.close()
