"""Runtime benchmark: ratios against bare `transitions` and raw SQLite, measured in one run.

    .venv/bin/python bench/bench_runtime.py [--quick]

(a) in memory: Engine.fire (load, guarded transition with one `set` action, store) against
    one shared transitions.Machine doing add_model + trigger + remove_model. Target <= 1.2x.
(b) SQLite: Engine.fire transactions/s against raw `BEGIN IMMEDIATE; UPDATE ... WHERE rev=?;
    INSERT history; COMMIT` doing the same writes: the same tables and indexes (a file the
    engine created), the same columns, payloads of the same size, the same pragmas (WAL, and
    the same `synchronous` on both sides). Target >= 0.8x, with synchronous=NORMAL and with
    FULL (`sqlite:///FILE?synchronous=full`: each commit waits for the disk). Beside it, the
    engine's own six statements in raw SQL (the instance read and the audit lane's move added):
    their ratio to raw is the most any engine writing this history can reach, and the engine's
    ratio to them is the cost of its Python. A minimal raw schema (two narrow tables, no
    secondary index) is printed too, for reference (NORMAL).
(c) RSS of a fresh process that opens a store of 100,000 instances and works on one of them,
    against the same with 100 instances (each in its own subprocess), read from the child's own
    `VmHWM`. Target within 50 MB (per 100,000 instances); a control run of a child that holds
    every instance row shows the check failing.
Engine and baseline rounds alternate (the machine's load drifts); each figure is the median
of its rounds and each ratio the median of the rounds' ratios. Numbers depend on the
machine, the ratios are what to read.
"""

from __future__ import annotations

import hashlib
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

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore
from transitions import Machine

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET_MEMORY = 1.2  # at most this times bare transitions
TARGET_SQLITE = 0.8  # at least this times raw SQL doing the same writes
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


def rounds_of(runs: dict[str, object], count: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per operation of each run, per round; the runs alternate within a round."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(count)  # type: ignore[operator]
            times[name].append((time.perf_counter() - start) / count)
    return times


def median_ratio(top: list[float], bottom: list[float]) -> float:
    """The median over rounds of top / bottom."""
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


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


def raw_minimal(path: Path) -> object:
    """The old reference: two narrow tables without secondary indexes, small rows."""
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


def engine_file(path: Path, synchronous: str) -> sqlite3.Connection:
    """A file the engine created holding instance `toggle-1`, opened raw with the engine's
    pragmas (WAL, `synchronous`)."""
    store = SQLiteStore(path)
    Engine(catalog(), store=store, clock=ManualClock(T0)).start("toggle", id="toggle-1")
    store.close()
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
    return conn


def written(r: int) -> tuple[str, str, str, str]:
    """What a raw step computes as the engine would: its time's ISO text, the data's JSON
    text, and two 64-character hashes (the one before and its own)."""
    at = T0.isoformat(timespec="microseconds")
    data = json.dumps({"n": r}, separators=(",", ":"))
    return (
        at,
        data,
        hashlib.sha256(b"%d" % (r - 1)).hexdigest(),
        hashlib.sha256(b"%d" % r).hexdigest(),
    )


def raw_same_writes(path: Path, synchronous: str = "normal") -> object:
    """What the engine writes per transition, in raw SQL on a file the engine created.

    The instance row gets the engine's UPDATE (state, data, rev, seq, head, times) guarded by
    its revision; the history row all thirteen columns, with two 64-character hashes and an
    ISO time like the engine's. No read: the raw side already knows the revision.
    """
    conn = engine_file(path, synchronous)
    rev = {"r": 1}

    def run(count: int) -> None:
        for _ in range(count):
            r = rev["r"]
            at, data, prev, head = written(r)
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute(
                "UPDATE instances SET state = ?, data = ?, rev = ?, seq = ?, head = ?, "
                "updated_at = ?, last_activity_at = ?, format_version = ? WHERE id = ? AND rev = ?",
                (
                    "b" if r % 2 else "a",
                    data,
                    r + 1,
                    r + 1,
                    head,
                    at,
                    at,
                    1,
                    "toggle-1",
                    r,
                ),
            )
            assert cur.rowcount == 1
            conn.execute(
                "INSERT INTO events (instance, seq, at, actor, role, kind, trigger_name, source, "
                "dest, data, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "toggle-1",
                    r + 1,
                    at,
                    "system",
                    None,
                    "transition",
                    "go" if r % 2 else "back",
                    "a" if r % 2 else "b",
                    "b" if r % 2 else "a",
                    data,
                    "{}",
                    prev,
                    head,
                ),
            )
            conn.execute("COMMIT")
            rev["r"] = r + 1

    return run


def raw_engine_statements(path: Path, synchronous: str = "normal") -> object:
    """The engine's own statements per transition, in raw SQL: what a step cannot do without.

    `raw_same_writes` plus the two statements the history's design adds: the instance read
    (a step applies to the revision it read) and the audit lane's move (each event takes the
    next place in the store's lane, so a deleted event leaves a hole `verify` finds), with the
    event's lane columns written as the engine writes them. Its rate over `raw_same_writes`'s
    is the highest ratio any engine doing these writes can reach; the engine's rate over its
    rate is what the engine's own Python costs.
    """
    conn = engine_file(path, synchronous)
    lane, pos = conn.execute("SELECT lane, pos FROM audit_lanes ORDER BY lane LIMIT 1").fetchone()
    rev = {"r": 1, "pos": pos}

    def run(count: int) -> None:
        for _ in range(count):
            r, place = rev["r"], rev["pos"]
            at, data, prev, head = written(r)
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT id, process, version, state, data, parent, task, rev, seq, head, "
                "created_at, updated_at, last_activity_at, format_version, assignee "
                "FROM instances WHERE id = ?",
                ("toggle-1",),
            ).fetchone()
            assert row is not None and row[7] == r
            moved = conn.execute(
                "UPDATE audit_lanes SET pos = ?, instance = ?, seq = ?, key_id = ?, "
                "key_check = ? WHERE lane = ? AND pos = ?",
                (place + 1, "toggle-1", r + 1, "", "", lane, place),
            )
            assert moved.rowcount == 1
            conn.execute(
                "INSERT INTO events (instance, seq, at, actor, role, kind, trigger_name, source, "
                "dest, data, detail, prev_hash, hash, lane, pos, after_instance, after_seq, "
                "key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *("toggle-1", r + 1, at, "system", None, "transition"),
                    *("go" if r % 2 else "back", "a" if r % 2 else "b", "b" if r % 2 else "a"),
                    *(data, "{}", prev, head),
                    *(lane, place + 1, "toggle-1", r, ""),
                ),
            )
            cur = conn.execute(
                "UPDATE instances SET state = ?, data = ?, rev = ?, seq = ?, head = ?, "
                "updated_at = ?, last_activity_at = ?, format_version = ?, assignee = ?, "
                "version = ? WHERE id = ? AND rev = ?",
                (
                    *("b" if r % 2 else "a", data, r + 1, r + 1, head, at, at, 1),
                    *(None, 1, "toggle-1", r),
                ),
            )
            assert cur.rowcount == 1
            conn.execute("COMMIT")
            rev["r"], rev["pos"] = r + 1, place + 1

    return run


# The child's own peak resident set (`VmHWM` of /proc/self/status: per process, reset by exec).
# `getrusage(RUSAGE_SELF).ru_maxrss` would not do: a child started by fork + exec reports the
# larger of its own peak and its parent's at the fork, so a check against it cannot fail.
RSS_CHILD = """
import sqlite3, sys
sys.path.insert(0, {root!r})
from datetime import datetime, UTC
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
sys.path.insert(0, {bench!r})
from bench_runtime import PROCESS
engine = Engine(Catalog((load_text(PROCESS, "toggle.yaml").process,)), store=SQLiteStore({db!r}),
                clock=ManualClock(datetime(2026, 3, 3, tzinfo=UTC)))
for _ in range(20):
    engine.fire("toggle-1", "go" if engine.show("toggle-1").state == "a" else "back")
engine.tick()
engine.verify("toggle-1")
# the planted leak: every instance row held in memory, as an engine that loads them all would
held = sqlite3.connect({db!r}).execute("SELECT * FROM instances").fetchall() if {leak!r} else []
status = open("/proc/self/status").read()
print(next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")))
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


def rss_kb(db: Path, *, leak: bool = False) -> int:
    """The peak RSS (KiB) of a fresh process working on one instance of `db`; with `leak`,
    one that also holds every instance row (the check must then fail)."""
    root = str(Path(__file__).resolve().parent.parent)
    code = RSS_CHILD.format(
        root=root, bench=str(Path(__file__).resolve().parent), db=str(db), leak=leak
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def in_memory(tmp: Path, count: int, rounds: int) -> None:
    memory = Engine(catalog(), store=MemoryStore(), clock=ManualClock(T0), sheets_dir=tmp)
    instance = memory.start("toggle").id
    runs = {"engine": engine_fires(memory, instance), "bare": bare_transitions}
    for run in runs.values():
        run(count // 5)  # type: ignore[operator]  # warm up
    times = rounds_of(runs, count, rounds)
    ours, bare = statistics.median(times["engine"]), statistics.median(times["bare"])
    ratio = median_ratio(times["engine"], times["bare"])
    print(
        f"(a) in memory: engine fire {ours * 1e6:.1f} us, bare transitions "
        f"{bare * 1e6:.1f} us -> ratio {ratio:.2f}x (target <= {TARGET_MEMORY}x: "
        f"{'met' if ratio <= TARGET_MEMORY else 'MISSED'})"
    )


def on_sqlite(tmp: Path, count: int, rounds: int) -> None:
    sqlite = Engine(
        catalog(), store=SQLiteStore(tmp / "e.db"), clock=ManualClock(T0), sheets_dir=tmp
    )
    instance = sqlite.start("toggle").id
    runs = {
        "engine": engine_fires(sqlite, instance),
        "raw": raw_same_writes(tmp / "raw.db"),
        "floor": raw_engine_statements(tmp / "floor.db"),
        "minimal": raw_minimal(tmp / "minimal.db"),
    }
    for run in runs.values():
        run(count // 5)  # type: ignore[operator]  # warm up
    times = rounds_of(runs, count, rounds)
    rate = {name: 1 / statistics.median(t) for name, t in times.items()}
    ratio = median_ratio(times["raw"], times["engine"])
    print(
        f"(b) SQLite, synchronous=NORMAL: engine {rate['engine']:,.0f} transitions/s, raw same "
        f"writes {rate['raw']:,.0f} tx/s -> ratio {ratio:.2f}x (target >= {TARGET_SQLITE}x: "
        f"{'met' if ratio >= TARGET_SQLITE else 'MISSED'})"
    )
    print_floor(times, rate)
    print(
        f"    reference: raw minimal schema {rate['minimal']:,.0f} tx/s -> ratio "
        f"{median_ratio(times['minimal'], times['engine']):.2f}x"
    )


def print_floor(times: dict[str, list[float]], rate: dict[str, float]) -> None:
    """The line of `raw_engine_statements`: the ceiling of the ratio, and the engine against it."""
    print(
        f"    the engine's six statements in raw SQL (instance read and audit lane included): "
        f"{rate['floor']:,.0f} tx/s -> {median_ratio(times['raw'], times['floor']):.2f}x raw "
        f"same writes (the highest ratio these writes allow); engine "
        f"{median_ratio(times['floor'], times['engine']):.2f}x of it"
    )


def on_sqlite_full(tmp: Path, count: int, rounds: int) -> None:
    """(b) again with synchronous=FULL on both sides: every commit waits for the disk."""
    store = SQLiteStore(tmp / "full.db", synchronous="full")
    full = Engine(catalog(), store=store, clock=ManualClock(T0), sheets_dir=tmp)
    instance = full.start("toggle").id
    runs = {
        "engine": engine_fires(full, instance),
        "raw": raw_same_writes(tmp / "raw-full.db", "full"),
        "floor": raw_engine_statements(tmp / "floor-full.db", "full"),
    }
    for run in runs.values():
        run(max(count // 20, 5))  # type: ignore[operator]  # warm up
    times = rounds_of(runs, count, rounds)
    rate = {name: 1 / statistics.median(t) for name, t in times.items()}
    ratio = median_ratio(times["raw"], times["engine"])
    print(
        f"    synchronous=FULL: engine {rate['engine']:,.0f} transitions/s, raw same writes "
        f"{rate['raw']:,.0f} tx/s -> ratio {ratio:.2f}x (target >= {TARGET_SQLITE}x: "
        f"{'met' if ratio >= TARGET_SQLITE else 'MISSED'})"
    )
    print_floor(times, rate)


RSS_LIMIT_MB = 50  # per 100,000 instances: flat memory allows no growth with the store's size


def verdict(difference_kb: int, instances: int) -> str:
    limit_kb = RSS_LIMIT_MB * 1024 * instances / 100_000
    return "pass" if difference_kb <= limit_kb else "FAIL"


def main() -> None:
    quick = "--quick" in sys.argv
    count, rounds = (500, 3) if quick else (3000, 7)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        in_memory(tmp, count, rounds)
        on_sqlite(tmp, count, rounds)
        on_sqlite_full(tmp, count // 10, rounds)  # about a millisecond per commit
        big_count = 10_000 if quick else 100_000
        small, big = tmp / "small.db", tmp / "big.db"
        populate(small, 100)
        populate(big, big_count)
        small_rss, big_rss = rss_kb(small), rss_kb(big)
        print(
            f"(c) RSS: {big_count:,} instances {big_rss / 1024:.1f} MB, 100 instances "
            f"{small_rss / 1024:.1f} MB -> difference {(big_rss - small_rss) / 1024:.1f} MB "
            f"(target within {RSS_LIMIT_MB * big_count / 100_000:g} MB: "
            f"{verdict(big_rss - small_rss, big_count)})"
        )
        # the check can fail: the same measure of a process holding every instance
        leaked = rss_kb(big, leak=True) - rss_kb(small, leak=True)
        print(
            f"    control: a planted leak (every instance row held) -> difference "
            f"{leaked / 1024:.1f} MB ({verdict(leaked, big_count)}; the check must fail here)"
        )


if __name__ == "__main__":
    main()
