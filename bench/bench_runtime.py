"""Runtime benchmark: ratios against bare `transitions` and raw SQLite, measured in one run.

    .venv/bin/python bench/bench_runtime.py [--quick]

(a) in memory: Engine.fire (load, guarded transition with one `set` action, store) against
    one shared transitions.Machine doing add_model + trigger + remove_model. Target <= 2x.
(b) SQLite: Engine.fire transactions/s against raw `BEGIN IMMEDIATE; UPDATE ... WHERE rev=?;
    INSERT history; COMMIT` on the same kind of file (WAL, synchronous=NORMAL). Target >= 0.5x.
(c) RSS of a fresh process that opens a store of 100,000 instances and works on one of them,
    against the same with 100 instances (each in its own subprocess). Target within 50 MB.
Medians of several rounds; numbers depend on the machine, the ratios are what to read.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transitions import Machine

from engine.clock import ManualClock
from engine.loader import Catalog, load_text
from engine.runtime import Engine
from engine.store import MemoryStore, SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESS = """
id: toggle
version: 1
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  b: {}
  done: {terminal: true}
transitions:
  - trigger: go
    source: a
    dest: b
    guard: "n >= 0"
    actions:
      - set: {n: "n + 1"}
  - trigger: back
    source: b
    dest: a
    guard: "n >= 0"
    actions:
      - set: {n: "n + 1"}
  - trigger: finish
    source: [a, b]
    dest: done
"""


def catalog() -> Catalog:
    return Catalog((load_text(PROCESS, "toggle.yaml").process,))


def per_op(run: object, count: int, rounds: int) -> float:
    """Median seconds per operation over `rounds` rounds of `count` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(count)  # type: ignore[operator]
        times.append((time.perf_counter() - start) / count)
    return statistics.median(times)


def bare_transitions(count: int) -> None:
    machine = BARE
    state = "a"
    for _ in range(count):
        model = _Model()
        machine.add_model(model, initial=state)
        model.trigger("go" if state == "a" else "back")
        state = model.state
        machine.remove_model(model)


class _Model:
    state: str


BARE = Machine(
    model=None,
    states=["a", "b", "done"],
    initial="a",
    transitions=[
        {"trigger": "go", "source": "a", "dest": "b"},
        {"trigger": "back", "source": "b", "dest": "a"},
        {"trigger": "finish", "source": ["a", "b"], "dest": "done"},
    ],
    auto_transitions=False,
    send_event=True,
)


def engine_fires(engine: Engine, instance: str) -> object:
    state = {"s": engine.show(instance).state}

    def run(count: int) -> None:
        for _ in range(count):
            view = engine.fire(instance, "go" if state["s"] == "a" else "back")
            state["s"] = view.state

    return run


def raw_sqlite(path: Path) -> object:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE inst (id TEXT PRIMARY KEY, state TEXT, data TEXT, rev INTEGER)")
    conn.execute(
        "CREATE TABLE hist (instance TEXT, seq INTEGER, at TEXT, data TEXT, hash TEXT, "
        "PRIMARY KEY (instance, seq))"
    )
    conn.execute("INSERT INTO inst VALUES ('x', 'a', '{\"n\": 0}', 1)")
    rev = {"r": 1}

    def run(count: int) -> None:
        for _ in range(count):
            r = rev["r"]
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "UPDATE inst SET state = ?, data = ?, rev = ? WHERE id = ? AND rev = ?",
                ("b" if r % 2 else "a", json.dumps({"n": r}), r + 1, "x", r),
            )
            assert cur.rowcount == 1
            conn.execute(
                "INSERT INTO hist VALUES (?, ?, ?, ?, ?)",
                ("x", r, T0.isoformat(), json.dumps({"n": r}), "h" * 64),
            )
            conn.execute("COMMIT")
            rev["r"] = r + 1

    return run


RSS_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from datetime import datetime, UTC
from engine.clock import ManualClock
from engine.loader import Catalog, load_text
from engine.runtime import Engine
from engine.store import SQLiteStore
sys.path.insert(0, {bench!r})
from bench_runtime import PROCESS
engine = Engine(Catalog((load_text(PROCESS, "toggle.yaml").process,)), store=SQLiteStore({db!r}),
                clock=ManualClock(datetime(2026, 3, 3, tzinfo=UTC)))
for _ in range(20):
    engine.fire("toggle-1", "go" if engine.show("toggle-1").state == "a" else "back")
engine.tick()
engine.verify("toggle-1")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def populate(db: Path, count: int) -> None:
    engine = Engine(catalog(), store=SQLiteStore(db), clock=ManualClock(T0))
    batch = 1000
    for first in range(0, count, batch):
        with engine.store.transaction() as tx:
            for _ in range(min(batch, count - first)):
                engine.executor.start(
                    tx, "toggle", None, instance_id=None, actor="bench", role=None, now=T0
                )
    engine.store.close()


def rss_kb(db: Path) -> int:
    root = str(Path(__file__).resolve().parent.parent)
    code = RSS_CHILD.format(root=root, bench=str(Path(__file__).resolve().parent), db=str(db))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    quick = "--quick" in sys.argv
    count, rounds = (500, 3) if quick else (3000, 7)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        memory = Engine(catalog(), store=MemoryStore(), clock=ManualClock(T0), sheets_dir=tmp)
        instance = memory.start("toggle").id
        ours = per_op(engine_fires(memory, instance), count, rounds)
        bare = per_op(bare_transitions, count, rounds)
        print(
            f"(a) in memory: engine fire {ours * 1e6:.1f} us, bare transitions "
            f"{bare * 1e6:.1f} us -> ratio {ours / bare:.2f}x (target <= 2x)"
        )

        sqlite = Engine(
            catalog(), store=SQLiteStore(tmp / "e.db"), clock=ManualClock(T0), sheets_dir=tmp
        )
        instance = sqlite.start("toggle").id
        ours_db = per_op(engine_fires(sqlite, instance), count, rounds)
        raw = per_op(raw_sqlite(tmp / "raw.db"), count, rounds)
        print(
            f"(b) SQLite: engine {1 / ours_db:,.0f} transitions/s, raw {1 / raw:,.0f} tx/s "
            f"-> ratio {raw / ours_db:.2f}x (target >= 0.5x)"
        )

        big_count = 10_000 if quick else 100_000
        small, big = tmp / "small.db", tmp / "big.db"
        populate(small, 100)
        populate(big, big_count)
        small_rss, big_rss = rss_kb(small), rss_kb(big)
        print(
            f"(c) RSS: {big_count:,} instances {big_rss / 1024:.1f} MB, 100 instances "
            f"{small_rss / 1024:.1f} MB -> difference {(big_rss - small_rss) / 1024:.1f} MB "
            "(target within 50 MB)"
        )


if __name__ == "__main__":
    main()
