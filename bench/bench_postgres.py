"""PostgreSQL benchmark: transitions per second with 1, 2 and 4 worker processes, next to the
raw rate of the same SQL statements through psycopg, measured in the same run.

    .venv/bin/python bench/bench_postgres.py [--quick] [--url postgresql://...]
        [--workers 1 2 4] [--rounds 3]

Engine: each worker process fires `bump` (a guarded self-loop with one `set` action) on
instances of its own, one `Engine.fire` (one transaction) each. Raw: each worker runs, per
transaction, `UPDATE instances ... WHERE id = %s AND rev = %s` (checking one row changed) and
one history `INSERT`, then COMMIT, with psycopg directly. Workers start together at a set
moment; the rate is all transitions over the time until the last worker ends. Medians of
several rounds, engine and raw alternating; the ratio (engine / raw, the median of the
rounds' ratios) is what to read. The URL defaults to
FULFIL_TEST_POSTGRES_URL or the local test server; the benchmark uses a schema of its own and
drops it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store.base import to_iso
from fulfil.engine.store.postgres import PostgresStore, split_url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEFAULT_URL = os.environ.get(
    "FULFIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PROCESS = """
id: bench
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
    guard: "n >= 0"
    actions:
      - set: {n: "n + 1"}
  - trigger: finish
    source: a
    dest: done
"""
INSTANCES_PER_WORKER = 50


def engine(url: str) -> Engine:
    catalog = Catalog((load_text(PROCESS).process,))
    return Engine(catalog, store=PostgresStore(url), clock=ManualClock(T0))


def setup(url: str, workers: int) -> None:
    """Upgrade the schema and start INSTANCES_PER_WORKER instances per worker."""
    eng = engine(url)
    eng.store.upgrade()
    for w in range(workers):
        for i in range(INSTANCES_PER_WORKER):
            eng.start("bench", id=f"w{w}-{i}")
    eng.store.close()


def wait_until(start_at: float) -> None:
    if time.time() > start_at:
        print(
            "warning: a worker was ready after the start; the rate is understated", file=sys.stderr
        )
    time.sleep(max(0.0, start_at - time.time()))


def child_engine(url: str, worker: int, count: int, start_at: float) -> float:
    eng = engine(url)
    ids = [f"w{worker}-{i}" for i in range(INSTANCES_PER_WORKER)]
    wait_until(start_at)
    for n in range(count):
        eng.fire(ids[n % len(ids)], "bump")
    return time.time()


def child_raw(url: str, worker: int, count: int, start_at: float) -> float:
    conninfo, schema = split_url(url)
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute(f'SET search_path TO "{schema}"')
    ids = [f"w{worker}-{i}" for i in range(INSTANCES_PER_WORKER)]
    revs = {
        row[0]: (int(row[1]), int(row[2]))
        for row in conn.execute(
            "SELECT id, rev, seq FROM instances WHERE id LIKE %s", (f"w{worker}-%",)
        )
    }
    at = to_iso(T0)
    wait_until(start_at)
    for n in range(count):
        target = ids[n % len(ids)]
        rev, seq = revs[target]
        with conn.transaction():
            cur = conn.execute(
                "UPDATE instances SET data = %s, rev = %s, seq = %s, head = %s, updated_at = %s, "
                "last_activity_at = %s WHERE id = %s AND rev = %s",
                (json.dumps({"n": n}), rev + 1, seq + 1, "h", at, at, target, rev),
            )
            if cur.rowcount != 1:
                raise RuntimeError("lost the revision race in a benchmark with no contention")
            conn.execute(
                "INSERT INTO events (instance, seq, at, actor, role, kind, trigger_name, source, "
                "dest, data, detail, prev_hash, hash) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    target,
                    seq + 1,
                    at,
                    "raw",
                    None,
                    "transition",
                    "bump",
                    "a",
                    "a",
                    "{}",
                    "{}",
                    "p",
                    "h",
                ),
            )
        revs[target] = (rev + 1, seq + 1)
    return time.time()


def round_rate(mode: str, url: str, workers: int, count: int) -> float:
    """Transitions per second of `workers` processes doing `count` each, started together."""
    start_at = time.time() + 1.0 + 0.75 * workers  # time for the children to import and connect
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--url",
                url,
                "--worker",
                str(w),
                "--count",
                str(count),
                "--start-at",
                repr(start_at),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    ends = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"a {mode} worker failed (exit {proc.returncode})")
        ends.append(float(out.strip()))
    return workers * count / (max(ends) - start_at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=["engine", "raw"])
    parser.add_argument("--worker", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2, 4], help="Worker counts to measure."
    )
    parser.add_argument("--rounds", type=int, default=None, help="Rounds per worker count.")
    args = parser.parse_args()
    if args.child:
        run = child_engine if args.child == "engine" else child_raw
        print(run(args.url, args.worker, args.count, args.start_at))
        return

    count, rounds = (200, 1) if args.quick else (600, 3)
    rounds = args.rounds or rounds
    schema = f"fulfil_bench_{secrets.token_hex(4)}"
    base, _ = split_url(args.url)
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    try:
        setup(url, max(args.workers))
        print(f"PostgreSQL, {count} transitions per worker, median of {rounds} round(s)")
        print(f"{'workers':>7}  {'engine tx/s':>11}  {'raw tx/s':>9}  {'engine/raw':>10}")
        for workers in args.workers:
            # engine and raw rounds alternate, so a load change on the machine hits both
            pairs = [
                (round_rate("engine", url, workers, count), round_rate("raw", url, workers, count))
                for _ in range(rounds)
            ]
            eng = statistics.median(e for e, _ in pairs)
            raw = statistics.median(r for _, r in pairs)
            ratio = statistics.median(e / r for e, r in pairs)
            print(f"{workers:>7}  {eng:>11.0f}  {raw:>9.0f}  {ratio:>10.2f}")
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
