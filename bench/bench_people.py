"""Identity benchmark: what verifying the person adds to an in-memory fire, in one run.

    .venv/bin/python bench/bench_people.py [--quick]

Two engines over the same process and in-memory store kind: one in open mode (`--as
actor:role` believed), one with a people directory of 200 people. Each fires the same
role-guarded transitions back and forth: the open engine as `sam:clerk`, the verified one as
`sam` alone (the engine looks sam up, checks that sam is active and picks the role the
transition accepts). Rounds alternate which runs first; the figure is the median of the
rounds' ratios.
Target: at most 1.10x.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROCESS = """
id: toggle
version: 1
roles:
  clerk: {title: Clerk}
  lead: {title: Lead}
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
    roles: [clerk]
    actions:
      - set: {n: "n + 1"}
  - trigger: back
    source: b
    dest: a
    guard: "n >= 0"
    roles: [clerk]
    actions:
      - set: {n: "n + 1"}
  - trigger: finish
    source: [a, b]
    dest: done
    roles: [lead]
"""


def _directory() -> PeopleDirectory:
    people = [Person(f"p{i}", f"P {i}", f"p{i}@example.com", ("lead",)) for i in range(199)]
    people.append(Person("sam", "Sam Lee", "sam@example.com", ("lead", "clerk"), "p0"))
    return PeopleDirectory.of(people)


def _engine(verified: bool) -> Engine:
    catalog = Catalog((load_text(PROCESS, "toggle.yaml").process,))
    people = _directory() if verified else None
    engine = Engine(catalog, store=MemoryStore(), clock=ManualClock(T0), people=people)
    engine.start("toggle", id="t", actor="sam", role="clerk")
    return engine


def _runner(engine: Engine, verified: bool):  # type: ignore[no-untyped-def]
    state = {"at": "a"}
    role = None if verified else "clerk"

    def run(count: int) -> None:
        for _ in range(count):
            trigger = "go" if state["at"] == "a" else "back"
            state["at"] = engine.fire("t", trigger, actor="sam", role=role).state

    return run


def main(quick: bool) -> int:
    count, rounds = (300, 6) if quick else (1000, 30)
    open_run = _runner(_engine(False), False)
    verified_run = _runner(_engine(True), True)
    open_run(200)
    verified_run(200)  # warm caches
    ratios, open_times, verified_times = [], [], []
    for index in range(rounds):
        timed = {}
        # which one runs first alternates, so a drift of the machine's load favours neither
        order = [("open", open_run), ("verified", verified_run)]
        for name, run in order if index % 2 == 0 else reversed(order):
            start = time.perf_counter()
            run(count)
            timed[name] = (time.perf_counter() - start) / count
        plain, checked = timed["open"], timed["verified"]
        open_times.append(plain)
        verified_times.append(checked)
        ratios.append(checked / plain)
    ratio = statistics.median(ratios)
    print(f"in-memory fire, open mode:        {statistics.median(open_times) * 1e6:8.1f} us")
    print(f"in-memory fire, verified person:  {statistics.median(verified_times) * 1e6:8.1f} us")
    verdict = "ok" if ratio <= 1.10 else "OVER TARGET"
    print(f"verified / open (median of {rounds} rounds): {ratio:.3f}x (target <= 1.10x) {verdict}")
    return 0 if ratio <= 1.10 else 1


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
