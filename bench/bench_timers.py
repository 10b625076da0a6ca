"""Timer benchmark: one tick over a big SQLite store, next to raw SQL on the same file.

    .venv/bin/python bench/bench_timers.py [--instances N] [--due N]

Setup (not timed): a SQLite file with 1,000,000 instances (bulk-inserted rows, not engine
starts) each holding a pending timer; `--due` of them (1,000) are due, the others a year ahead.
Then, measured in the same run:

(a) one `Engine.tick()` that finds and fires the due timers (each its own transaction: claim,
    transition, history event, new state). Target < 2 s.
(b) a tick that finds nothing due. Target < 10 ms (median of 50).
(c) the raw SQL baselines: the same index lookup (`fired_at IS NULL AND due_at <= now ORDER BY
    due_at, id LIMIT 1`) alone, and a loop of 1,000 bare claim transactions (BEGIN IMMEDIATE;
    lookup; UPDATE timers; UPDATE instances; INSERT events; COMMIT).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
from fulfil.engine.store.base import to_iso

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESS = """
id: waiter
version: 1
fields:
  n: {type: int, default: 0}
states:
  waiting:
    initial: true
    timers:
      - {name: nudge, after: 1d, trigger: nudge}
  nudged:
    terminal: true
transitions:
  - {trigger: nudge, source: waiting, dest: nudged}
"""
LOOKUP = (
    "SELECT id, instance FROM timers WHERE fired_at IS NULL AND due_at <= ? "
    "ORDER BY due_at, id LIMIT 1"
)


def setup(path: Path, instances: int, due: int) -> tuple[Engine, SQLiteStore]:
    """The store with its rows; one engine start first so the definition is stored."""
    catalog = Catalog((load_text(PROCESS, "waiter.yaml").process,))
    store = SQLiteStore(path)
    engine = Engine(catalog, store=store, clock=ManualClock(T0))
    first = engine.start("waiter", id="w-0")
    [row] = store.execute("SELECT data, head FROM instances WHERE id = 'w-0'")
    data, head = row
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    created = to_iso(T0)
    soon, later = to_iso(T0 + timedelta(days=1)), to_iso(T0 + timedelta(days=365))
    conn.execute("DELETE FROM timers")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO instances (id, process, version, state, data, parent, task, rev, seq, head, "
        "created_at, updated_at, last_activity_at, format_version) "
        "VALUES (?, 'waiter', 1, 'waiting', ?, NULL, NULL, 1, 1, ?, ?, ?, ?, 1)",
        ((f"w-{n}", data, head, created, created, created) for n in range(1, instances)),
    )
    conn.executemany(
        "INSERT INTO timers (instance, name, state, trigger_name, due_at, data, created_at) "
        "VALUES (?, 'nudge', 'waiting', 'nudge', ?, '{}', ?)",
        ((f"w-{n}", soon if n < due else later, created) for n in range(instances)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    assert first.state == "waiting"
    return engine, store


def raw_baseline(path: Path, now: str, count: int) -> tuple[float, float]:
    """(median seconds of the bare lookup, seconds of `count` bare claim transactions)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    lookups = []
    for _ in range(50):
        start = time.perf_counter()
        conn.execute(LOOKUP, (now,)).fetchone()
        lookups.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(count):
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(LOOKUP, (now,)).fetchone()
        if row is None:
            conn.execute("COMMIT")
            break
        conn.execute("UPDATE timers SET fired_at = ? WHERE id = ?", (now, row[0]))
        conn.execute("UPDATE instances SET state = 'nudged', rev = rev + 1 WHERE id = ?", (row[1],))
        conn.execute(
            "INSERT INTO events (instance, seq, at, actor, role, kind, trigger_name, source, "
            "dest, data, detail, prev_hash, hash) VALUES (?, 99, ?, 'timer', NULL, 'timer', "
            "'nudge', 'waiting', 'nudged', '{}', '{}', '', '')",
            (row[1], now),
        )
        conn.execute("COMMIT")
    claims = time.perf_counter() - start
    conn.close()
    return statistics.median(lookups), claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timers.db"
        began = time.perf_counter()
        engine, store = setup(path, args.instances, args.due)
        setup_s = time.perf_counter() - began
        now = T0 + timedelta(days=2)

        start = time.perf_counter()
        fired = engine.tick(now)
        tick_s = time.perf_counter() - start
        assert len(fired) == args.due, len(fired)
        assert all(f.refused is None and f.state == "nudged" for f in fired)

        idle = []
        for _ in range(50):
            start = time.perf_counter()
            assert engine.tick(now) == []
            idle.append(time.perf_counter() - start)
        idle_s = statistics.median(idle)
        store.close()

        # a second file in the same state for the raw claims (the first one's timers fired)
        raw_path = Path(folder) / "raw.db"
        setup(raw_path, args.instances, args.due)[1].close()
        lookup_s, claims_s = raw_baseline(raw_path, to_iso(now), args.due)

    report = {
        "instances": args.instances,
        "due_timers": args.due,
        "setup_s": round(setup_s, 1),
        "tick_fire_s": round(tick_s, 3),
        "raw_claims_s": round(claims_s, 3),
        "tick_idle_ms": round(idle_s * 1000, 3),
        "raw_lookup_ms": round(lookup_s * 1000, 3),
    }
    print(json.dumps(report, indent=2))
    print(
        f"fire {args.due} due timers: tick {tick_s:.3f} s (target < 2 s) vs raw claims "
        f"{claims_s:.3f} s = {tick_s / claims_s:.1f}x"
    )
    print(
        f"nothing due: tick {idle_s * 1000:.3f} ms (target < 10 ms) vs raw lookup "
        f"{lookup_s * 1000:.3f} ms"
    )


if __name__ == "__main__":
    main()
