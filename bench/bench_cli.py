"""How long a person waits for a CLI command, against starting Python with `transitions`.

Each round runs, interleaved, as fresh processes: `python -c "import transitions"` (the
baseline), `fulfil show`, `fulfil fire` (a different instance each round), and `fulfil show`
with the definition cache off (every definition read and checked, as on a first run). The
shipped processes are the folder. Wall times, medians over the rounds. `python -c pass` is
timed too: the interpreter's own start, which no command can go below, says how fast the
machine starts processes.

Targets: `show` and `fire` at most 100 ms and at most 3.5x the baseline.

    python bench/bench_cli.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT.parent))

NOW = "2026-03-02T09:00:00Z"
START = {"client": "Acme Motors", "client_email": "owner@acme.example", "fr_number": "FR-1"}


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    rounds = parser.parse_args().rounds

    from fulfil.engine.clock import ManualClock, parse_now
    from fulfil.engine.definition.loader import load_directory
    from fulfil.engine.people import load_people
    from fulfil.engine.runtime import Engine
    from fulfil.engine.store import SQLiteStore

    work = Path(tempfile.mkdtemp(prefix="fulfil-bench-cli-"))
    try:
        shutil.copytree(ROOT / "processes", work / "processes")
        catalog = load_directory(work / "processes")
        engine = Engine(
            catalog,
            store=SQLiteStore(work / "fulfil.db"),
            clock=ManualClock(parse_now(NOW)),
            people=load_people(work / "processes" / "people.yaml", catalog),
        )
        ids = [engine.start("facebook_access", START, actor="alex").id for _ in range(rounds)]
        engine.store.close()

        env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as users run it: bytecode cached
        env.update(FULFIL_NOW=NOW, FULFIL_CACHE_DIR=str(work / "cache"))
        cold = {**env, "FULFIL_CACHE": "off"}
        cli = [sys.executable, "-m", "fulfil.cli"]
        for warm in ([*cli, "show", ids[0]], [sys.executable, "-c", "import transitions"]):
            timed(warm, env, work)  # bytecode and the definition cache written once

        times: dict[str, list[float]] = {
            "python": [],
            "baseline": [],
            "show": [],
            "fire": [],
            "cold": [],
        }
        for n in range(rounds):
            times["python"].append(timed([sys.executable, "-c", "pass"], env, work))
            times["baseline"].append(timed([sys.executable, "-c", "import transitions"], env, work))
            times["show"].append(timed([*cli, "show", ids[n]], env, work))
            times["fire"].append(timed([*cli, "fire", ids[n], "begin", "--as", "sam"], env, work))
            times["cold"].append(timed([*cli, "show", ids[n]], cold, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(times["baseline"])
    print(f"CLI wall time, median of {rounds} interleaved rounds ({len(catalog)} processes)")
    print(f"  python -c 'import transitions'  {base * 1000:6.1f} ms  (baseline)")
    bare = statistics.median(times["python"])
    print(f"  python -c pass                  {bare * 1000:6.1f} ms  (the interpreter alone)")
    rows = [
        ("fulfil show", "show", True),
        ("fulfil fire", "fire", True),
        ("fulfil show, cache off", "cold", False),
    ]
    failed = False
    for label, key, targeted in rows:
        median = statistics.median(times[key])
        ratio = median / base
        verdict = ""
        if targeted:
            ok = median <= 0.100 and ratio <= 3.5
            failed |= not ok
            verdict = "  ok (target <= 100 ms, <= 3.5x)" if ok else "  MISSED (<= 100 ms, <= 3.5x)"
        print(f"  {label:<31} {median * 1000:6.1f} ms  {ratio:4.2f}x{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
