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
(d) power-safe (`synchronous=full`: every commit waits for the disk), on a smaller file of
    `--full-instances` (10,000) with the same 1,000 due: a tick firing `TICK_BATCH` timers per
    transaction (the default), a tick firing one per transaction (`tick_batch=1`), and the raw
    claims with one commit per timer and one per `TICK_BATCH` timers. Each round starts from a
    copy of the same file; rounds alternate the four, medians of `--rounds` (3).
"""

from __future__ import annotations

import argparse
import json
import shutil
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
from fulfil.engine.runtime.ticking import TICK_BATCH
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
    # The bulk rows went to the WAL (about 800 MB for 1M instances) and the engine's connection
    # stays open, so closing this one does not write them back: without this the first commits
    # measured would copy the whole setup into the database file. Both sides start checkpointed.
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert first.state == "waiting"
    return engine, store


def raw_claims(conn: sqlite3.Connection, now: str, count: int, per_commit: int = 1) -> float:
    """Seconds of `count` bare claims (lookup, UPDATE timers, UPDATE instances, INSERT events),
    `per_commit` of them to a transaction."""
    start = time.perf_counter()
    done = 0
    while done < count:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(per_commit, count - done)):
            row = conn.execute(LOOKUP, (now,)).fetchone()
            if row is None:
                break
            conn.execute("UPDATE timers SET fired_at = ? WHERE id = ?", (now, row[0]))
            conn.execute(
                "UPDATE instances SET state = 'nudged', rev = rev + 1 WHERE id = ?", (row[1],)
            )
            conn.execute(
                "INSERT INTO events (instance, seq, at, actor, role, kind, trigger_name, source, "
                "dest, data, detail, prev_hash, hash) VALUES (?, 99, ?, 'timer', NULL, 'timer', "
                "'nudge', 'waiting', 'nudged', '{}', '{}', '', '')",
                (row[1], now),
            )
            done += 1
        conn.execute("COMMIT")
    return time.perf_counter() - start


def full_round(base: Path, folder: Path, now: datetime, due: int) -> dict[str, float]:
    """Seconds of each of the four power-safe runs, each on its own copy of `base`."""
    catalog = Catalog((load_text(PROCESS, "waiter.yaml").process,))
    took: dict[str, float] = {}
    for name, batch in (("batched", TICK_BATCH), ("one_per_tx", 1)):
        path = folder / f"{name}.db"
        shutil.copy(base, path)
        store = SQLiteStore(path, synchronous="full")
        engine = Engine(catalog, store=store, clock=ManualClock(T0), tick_batch=batch)
        start = time.perf_counter()
        fired = engine.tick(now)
        took[name] = time.perf_counter() - start
        assert len(fired) == due and all(f.refused is None for f in fired), len(fired)
        store.close()
    for name, per_commit in (("raw_one_per_tx", 1), ("raw_batched", TICK_BATCH)):
        path = folder / f"{name}.db"
        shutil.copy(base, path)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        took[name] = raw_claims(conn, to_iso(now), due, per_commit)
        conn.close()
    return took


def full_synchronous(instances: int, due: int, rounds: int) -> dict[str, float]:
    """Median seconds of (d), and the ratios, over `rounds` rounds."""
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as folder:
        base = Path(folder) / "base.db"
        setup(base, instances, due)[1].close()
        now = T0 + timedelta(days=2)
        runs = [full_round(base, Path(folder), now, due) for _ in range(rounds)]
    medians = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    ratios = {
        "one_per_tx_over_batched": statistics.median(r["one_per_tx"] / r["batched"] for r in runs),
        "batched_over_raw_one_per_tx": statistics.median(
            r["batched"] / r["raw_one_per_tx"] for r in runs
        ),
        "batched_over_raw_batched": statistics.median(
            r["batched"] / r["raw_batched"] for r in runs
        ),
    }
    rounded = {name: round(ratio, 2) for name, ratio in ratios.items()}
    return {**{f"{k}_s": round(v, 3) for k, v in medians.items()}, **rounded}


def raw_baseline(path: Path, now: str, count: int) -> tuple[float, float]:
    """(median seconds of the bare lookup, seconds of `count` bare claim transactions)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")
    lookups = []
    for _ in range(50):
        start = time.perf_counter()
        conn.execute(LOOKUP, (now,)).fetchone()
        lookups.append(time.perf_counter() - start)
    claims = raw_claims(conn, now, count)
    conn.close()
    return statistics.median(lookups), claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--full-instances", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only-full", action="store_true", help="Run (d) alone.")
    args = parser.parse_args()
    full = full_synchronous(args.full_instances, args.due, args.rounds)
    if args.only_full:
        print(json.dumps(full, indent=2))
        print_full(full, args.due)
        return
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
    print(json.dumps(full, indent=2))
    print_full(full, args.due)


def print_full(full: dict[str, float], due: int) -> None:
    print(
        f"synchronous=full, {due} due timers: tick {TICK_BATCH} per transaction "
        f"{full['batched_s']:.3f} s, one per transaction {full['one_per_tx_s']:.3f} s "
        f"({full['one_per_tx_over_batched']:.1f}x slower); raw claims one per transaction "
        f"{full['raw_one_per_tx_s']:.3f} s (batched tick "
        f"{full['batched_over_raw_one_per_tx']:.2f}x of it), {TICK_BATCH} per transaction "
        f"{full['raw_batched_s']:.3f} s "
        f"({full['batched_over_raw_batched']:.2f}x)"
    )


if __name__ == "__main__":
    main()
