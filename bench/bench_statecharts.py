"""Compound states benchmark: an event on a three-level compound machine against the same
event on its flattened equivalent, measured in one run.

    .venv/bin/python bench/bench_statecharts.py [--quick]

The compound machine nests `a` and `b` three levels deep (l1 > l2 > l3) with a timer and entry
and exit actions on the levels; `go` is written on the outermost level (so every state inherits
it, behind the transitions of its own levels) and `back` on `b`. The flat machine has the same
plain states, the transitions as they apply to them, and the entry and exit actions folded into
the transitions' actions. Both run on the in-memory store, fired alternately `go` and `back`.
Target: the compound event costs at most 1.5x the flat one. Rounds alternate (the machine's
load drifts); the ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = 1.5

COMPOUND = """
id: nested
version: 1
fields:
  n: {type: int, default: 0}
  m: {type: int, default: 0}
states:
  l1:
    initial: true
    timers:
      - {name: week, after: 7d, trigger: finish}
    states:
      l2:
        initial: true
        on_exit:
          - set: {m: "m + 1"}
        states:
          l3:
            initial: true
            on_enter:
              - set: {m: "m + 1"}
            states:
              a: {initial: true}
              b: {}
          other3: {}
      other2: {}
  done: {terminal: true}
transitions:
  - {trigger: poke, source: l3, dest: other3}
  - {trigger: unpoke, source: other3, dest: l3}
  - {trigger: tap, source: l2, dest: other2}
  - {trigger: untap, source: other2, dest: l2}
  - trigger: go
    source: l1
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
  - {trigger: finish, source: l1, dest: done}
"""

# what the compound machine does, written flat: `go` from a or b leaves and enters every level
FLAT = """
id: flat
version: 1
fields:
  n: {type: int, default: 0}
  m: {type: int, default: 0}
states:
  a:
    initial: true
    timers:
      - {name: week, after: 7d, trigger: finish}
  b:
    timers:
      - {name: week, after: 7d, trigger: finish}
  other3:
    timers:
      - {name: week, after: 7d, trigger: finish}
  other2:
    timers:
      - {name: week, after: 7d, trigger: finish}
  done: {terminal: true}
transitions:
  - {trigger: poke, source: [a, b], dest: other3}
  - {trigger: unpoke, source: other3, dest: a, actions: [{set: {m: "m + 1"}}]}
  - {trigger: tap, source: [a, b, other3], dest: other2, actions: [{set: {m: "m + 1"}}]}
  - {trigger: untap, source: other2, dest: a, actions: [{set: {m: "m + 1"}}]}
  - trigger: go
    source: [a, b]
    dest: b
    guard: "n >= 0"
    actions:
      - set: {m: "m + 1"}
      - set: {n: "n + 1"}
      - set: {m: "m + 1"}
  - trigger: back
    source: b
    dest: a
    guard: "n >= 0"
    actions:
      - set: {n: "n + 1"}
  - {trigger: finish, source: [a, b, other3, other2], dest: done}
"""


def runner(text: str, pid: str) -> Callable[[int], None]:
    """Fires `count` events, `go` and `back` in turn, on one instance of the process."""
    engine = Engine(
        Catalog((load_text(text, f"{pid}.yaml").process,)),
        store=MemoryStore(),
        clock=ManualClock(T0),
    )
    instance = engine.start(pid, {}).id
    state = ["a"]

    def run(count: int) -> None:
        for _ in range(count):
            trigger = "go" if state[0] == "a" else "back"
            state[0] = engine.fire(instance, trigger).state

    return run


def main() -> int:
    quick = "--quick" in sys.argv
    count, rounds = (300, 3) if quick else (2000, 7)
    runs = {"compound": runner(COMPOUND, "nested"), "flat": runner(FLAT, "flat")}
    for run in runs.values():
        run(50)  # warm up: compiled process, caches
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(count)
            times[name].append((time.perf_counter() - start) / count)
    ratio = statistics.median(c / f for c, f in zip(times["compound"], times["flat"], strict=True))
    ok = ratio <= TARGET
    compound, flat = (statistics.median(times[name]) * 1e6 for name in ("compound", "flat"))
    print(
        f"event on a three-level compound machine {compound:.1f} us, "
        f"on its flat equivalent {flat:.1f} us -> ratio "
        f"{ratio:.2f}x (target <= {TARGET}x: {'ok' if ok else 'MISSED'})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
