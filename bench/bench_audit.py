"""Audit trail benchmark: the cost per history event against the code before it, same run.

    .venv/bin/python bench/bench_audit.py [--quick] [--baseline REV] [--url postgresql://...]

The baseline is the engine at BASELINE (the last commit before the keyed, store-wide sealed
history), extracted with `git archive` into a temporary folder and imported from there; the
current code is the working tree. Each measurement runs in a fresh child process importing one
of the two, and the variants alternate within each round (the machine's load drifts):

(a) memory and (b) SQLite: seconds per `Engine.fire` of a guarded transition with one `set`
    action, which writes exactly one history event; the current code unkeyed and keyed
    (HMAC-SHA256) against the baseline (unkeyed SHA-256, no store-wide sequence).
(c) PostgreSQL with 1, 2 and 4 worker processes firing at instances of their own, started
    together: transitions per second, current (keyed) against the baseline, each in a schema
    of its own. This is where one counter row for the whole store would serialise writers;
    lanes taken with SKIP LOCKED should not.

Figures are medians of the rounds; each ratio is the median of the rounds' ratios (current /
baseline: above 1 means the current code takes longer per event, or for (c) does more per
second). Numbers depend on the machine, the ratios are what to read.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "2803f51"  # main before the audit trail (issue 11)
KEY = "bench:0123456789abcdef0123456789abcdef"
DEFAULT_URL = os.environ.get(
    "FULFIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

CHILD = r"""
import sys, time
tree, mode, count, key = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if tree:
    sys.path.insert(0, tree)
from datetime import UTC, datetime
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore
PROCESS = '''
id: toggle
version: 1
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  b: {}
  done: {terminal: true}
transitions:
  - {trigger: go, source: a, dest: b, guard: "n >= 0", actions: [{set: {n: "n + 1"}}]}
  - {trigger: back, source: b, dest: a, guard: "n >= 0", actions: [{set: {n: "n + 1"}}]}
  - {trigger: finish, source: [a, b], dest: done}
'''
catalog = Catalog((load_text(PROCESS, "toggle.yaml").process,))
store = MemoryStore() if mode == "memory" else SQLiteStore(sys.argv[5])
extra = {}
if key:
    from fulfil.engine.audit import keys_from
    extra["audit_keys"] = keys_from(key, None)
clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
engine = Engine(catalog, store=store, clock=clock, **extra)
instance = engine.start("toggle").id
for n in range(200):  # warm up: compiled definition, caches, statements
    engine.fire(instance, "go" if n % 2 == 0 else "back")
state = engine.show(instance).state
began = time.perf_counter()
for _ in range(count):
    state = engine.fire(instance, "go" if state == "a" else "back").state
print((time.perf_counter() - began) / count)
"""

PG_CHILD = r"""
import sys, time
tree, url, worker, count, start_at, key = sys.argv[1:7]
if tree:
    sys.path.insert(0, tree)
from datetime import UTC, datetime
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store.postgres import PostgresStore
PROCESS = '''
id: bench
version: 1
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  done: {terminal: true}
transitions:
  - {trigger: bump, source: a, dest: a, guard: "n >= 0", actions: [{set: {n: "n + 1"}}]}
  - {trigger: finish, source: a, dest: done}
'''
extra = {}
if key:
    from fulfil.engine.audit import keys_from
    extra["audit_keys"] = keys_from(key, None)
catalog = Catalog((load_text(PROCESS).process,))
clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
engine = Engine(catalog, store=PostgresStore(url), clock=clock, **extra)
if worker == "setup":
    engine.store.upgrade()
    for w in range(4):
        for i in range(20):
            engine.start("bench", id=f"w{w}-{i}")
    sys.exit(0)
ids = [f"w{worker}-{i}" for i in range(20)]
time.sleep(max(0.0, float(start_at) - time.time()))
for n in range(int(count)):
    engine.fire(ids[n % len(ids)], "bump")
print(time.time())
"""


def extract(rev: str, into: Path) -> Path:
    """The tree of `rev` as an importable `fulfil` package under `into`; returns `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        check=True,
        capture_output=True,
    ).stdout
    target = into / "fulfil"
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return into


def per_event(tree: str, mode: str, count: int, key: str, folder: Path) -> float:
    db = folder / f"{secrets.token_hex(4)}.db"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, tree, mode, str(count), key, str(db)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip())


def pg_rate(tree: str, url: str, workers: int, count: int, key: str) -> float:
    start_at = time.time() + 1.5 + 0.75 * workers
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PG_CHILD, tree, url, str(w), str(count), repr(start_at), key],
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    ends = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"a PostgreSQL worker failed (exit {proc.returncode})")
        ends.append(float(out.strip()))
    return workers * count / (max(ends) - start_at)


def table(title: str, rows: dict[str, list[float]], base: str, unit: str, scale: float) -> None:
    print(title)
    for name, values in rows.items():
        ratio = statistics.median(v / b for v, b in zip(values, rows[base], strict=True))
        shown = statistics.median(values) * scale
        print(f"  {name:<16} {shown:>9.1f} {unit}   ratio to baseline {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    count, rounds = (1000, 3) if args.quick else (3000, 7)
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        base = str(extract(args.baseline, folder / "base"))
        variants = {"baseline": (base, ""), "current": ("", ""), "current keyed": ("", KEY)}
        print(f"baseline {args.baseline}; {count} events per round, median of {rounds} rounds")
        for mode in ("memory", "sqlite"):
            rows: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(rounds):
                for name, (tree, key) in variants.items():
                    rows[name].append(per_event(tree, mode, count, key, folder))
            title = f"({'a' if mode == 'memory' else 'b'}) {mode}: per event"
            table(title, rows, "baseline", "us", 1e6)
        if not args.no_postgres:
            postgres(args.url, base, 200 if args.quick else 500, 1 if args.quick else 3)


def postgres(url: str, base: str, count: int, rounds: int) -> None:
    import psycopg
    from fulfil.engine.store.postgres import split_url

    conninfo, _ = split_url(url)
    schemas = {"baseline": f"bench_audit_base_{secrets.token_hex(3)}"}
    schemas["current keyed"] = f"bench_audit_new_{secrets.token_hex(3)}"
    trees = {"baseline": (base, ""), "current keyed": ("", KEY)}
    joiner = "&" if "?" in conninfo else "?"
    urls = {name: f"{conninfo}{joiner}schema={s}" for name, s in schemas.items()}
    try:
        for name, (tree, key) in trees.items():
            subprocess.run(
                [sys.executable, "-c", PG_CHILD, tree, urls[name], "setup", "0", "0", key],
                check=True,
            )
        print(f"(c) PostgreSQL: transitions/s, {count} per worker, median of {rounds} round(s)")
        for workers in (1, 2, 4):
            rates: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(rounds):
                for name, (tree, key) in trees.items():
                    rates[name].append(pg_rate(tree, urls[name], workers, count, key))
            base_rates = rates["baseline"]
            now_rates = rates["current keyed"]
            ratio = statistics.median(n / b for n, b in zip(now_rates, base_rates, strict=True))
            print(
                f"  {workers} worker(s): baseline {statistics.median(base_rates):>6.0f}/s, "
                f"current keyed {statistics.median(now_rates):>6.0f}/s, ratio {ratio:.2f}"
            )
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for schema in schemas.values():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
