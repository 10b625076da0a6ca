"""`fulfil verify --all` against a raw read-and-hash of the same rows, in one run.

    .venv/bin/python bench/bench_verify.py [--events N] [--per K] [--rounds R] [--db FILE]
                                           [--postgres URL]

A SQLite store (or a PostgreSQL schema with --postgres) gets N history events (default
1,000,000): instances of a toggling process of K events each (default 10), sealed with an audit
key as the engine seals them (format 3) and placed in the store-wide sequence, written in bulk
(a step by step engine would take the better part of an hour). The file is kept with --db and
reused when it already holds N events.

Each round measures, on the same rows, in this order:
  raw          read every event row (every column, in (instance, seq) order) and compute one
               HMAC-SHA256 over its columns' text: the floor for any check of every event;
  incremental  `Engine.verify()` on a marked, unchanged store: the marks, the instance rows and
               two counts read, no event (what a verify after a verify that passed reads);
  full         `Engine.verify(full=True)`: every event read, every seal, link and lane checked,
               every instance replayed (it writes every mark again);
  first        `Engine.verify()` on the same store with its marks deleted: what the first
               verify after an upgrade costs (it checks everything, as --full, and writes the
               marks the next round's incremental run uses).
Each line gives the median seconds, events per second and the median of the rounds' ratios to
the raw read (the machine's load drifts; the ratios are what to read). The target: an
incremental verify --all under 10 s for 1,000,000 events.
"""

from __future__ import annotations

import argparse
import hmac
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_runtime import T0, catalog  # type: ignore[import-not-found]
from fulfil.engine.audit import AuditKeys
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.history import seal
from fulfil.engine.store import Store, open_store
from fulfil.engine.store.base import EventRecord, Position

SECRET = b"a benchmark audit key of enough length"
KEYS = AuditKeys((("k1", SECRET),))
COLUMNS = (
    "instance, seq, at, actor, role, kind, trigger_name, source, dest, data, detail, prev_hash, "
    "hash, lane, pos, after_instance, after_seq, key_id"
)


def engine(store: Store) -> Engine:
    return Engine(catalog(), store=store, clock=ManualClock(T0), audit_keys=KEYS)


def count(store: Store) -> int:
    return int(store.execute("SELECT COUNT(*) FROM events")[0][0])  # type: ignore[attr-defined]


def populate(store: Store, events: int, per: int) -> None:
    """One instance through the engine (its definition pinned), then copies of its history
    under new ids, each sealed again at its own place, until `events` are stored."""
    eng = engine(store)
    model = eng.start("toggle", {}).id
    for k in range(per - 1):
        eng.fire(model, "go" if k % 2 == 0 else "back")
    with store.transaction(write=False) as tx:
        shape = tx.events(model)
        row = tx.get_instance(model)
    assert row is not None
    pos = per
    after: tuple[str, int] = (model, per)
    written = per
    number = 1
    while written < events:
        with store.transaction() as tx:
            for _ in range(min(500, (events - written) // per)):
                number += 1
                instance = f"toggle-{number}"
                prev = ""
                event: EventRecord | None = None
                for e in shape:
                    pos += 1
                    place = Position(0, pos, after, "k1", KEYS.signing_check)
                    event = seal(replace(e, instance=instance), prev, e.seq, place, KEYS)
                    tx.append_event(event)
                    prev, after = event.hash, (instance, e.seq)
                assert event is not None
                tx.insert_instance(replace(row, id=instance, head=event.hash))
                written += per
            if written + per > events:
                written = events
        store.execute(  # type: ignore[attr-defined]
            "UPDATE audit_lanes SET pos = ?, instance = ?, seq = ?, key_id = 'k1', key_check = ? "
            "WHERE lane = 0".replace("?", "%s" if _postgres(store) else "?"),
            (pos, after[0], after[1], KEYS.signing_check),
        )


def _postgres(store: Store) -> bool:
    return type(store).__name__ == "PostgresStore"


def raw(store: Store) -> int:
    """Read every event row and HMAC its columns' text; how many rows."""
    rows = 0
    select = f"SELECT {COLUMNS} FROM events ORDER BY instance, seq"
    with store.transaction(write=False) as tx:
        if _postgres(store):  # a server-side cursor: the rows are not all held at once
            cursor = tx.db_cursor.connection.cursor(name="raw")
            cursor.execute(select)
        else:
            cursor = tx.db_cursor.execute(select)
        for row in cursor:
            hmac.digest(SECRET, "\x1f".join(map(str, row)).encode(), "sha256")
            rows += 1
    return rows


RUNS = ("incremental", "full", "first")


def unmark(store: Store) -> None:
    """Delete every verify mark: the next verify is a first one."""
    for table in ("verify_marks", "verify_lanes"):
        store.execute(f"DELETE FROM {table}")  # type: ignore[attr-defined]


def timed(run: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--postgres", default=None, help="a postgresql:// URL (its schema=)")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.postgres or f"sqlite:///{args.db or Path(folder.name) / 'verify.db'}"
    store = open_store(url)
    store.upgrade()
    try:
        if count(store) != args.events:
            if count(store):
                sys.exit(f"{url} holds other events: give another --db")
            seconds, _ = timed(lambda: populate(store, args.events, args.per))
            print(f"populated {args.events:,} events in {seconds:.1f} s")
        eng = engine(store)
        seconds, report = timed(eng.verify)
        assert report.ok, report.problems[:5]
        print(f"verify before the rounds (marks as found): {seconds:.2f} s")
        times: dict[str, list[float]] = {name: [] for name in ("raw", *RUNS)}
        ratios: dict[str, list[float]] = {name: [] for name in RUNS}
        for _ in range(args.rounds):
            base, rows = timed(lambda: raw(store))
            assert rows == args.events, rows
            times["raw"].append(base)
            for name in RUNS:
                if name == "first":
                    unmark(store)
                seconds, report = timed(partial(eng.verify, full=name == "full"))
                assert report.ok and report.events == args.events, report.problems[:5]
                times[name].append(seconds)
                ratios[name].append(seconds / base)
        print(f"{args.events:,} events, {url.split(':')[0]}, median of {args.rounds} rounds")
        for name, values in times.items():
            median = statistics.median(values)
            ratio = f"{statistics.median(ratios[name]):.2f}x raw" if name in ratios else "1.00x"
            print(f"  {name:<12} {median:7.2f} s  {args.events / median:>10,.0f} events/s  {ratio}")
        incremental = statistics.median(times["incremental"])
        if args.events == 1_000_000:
            met = "met" if incremental < 10 else "missed"
            print(f"  target: incremental verify --all under 10 s: {incremental:.2f} s, {met}")
        else:
            print("  the target (incremental under 10 s) is for --events 1000000")
    finally:
        store.close()
        folder.cleanup()


if __name__ == "__main__":
    main()
