"""Recipients benchmark: what knowing who acts and who a message reaches costs an in-memory fire.

    .venv/bin/python bench/bench_recipients.py [--quick]

Both engines fire the same toggle (a guard, a `set`, one `notify`) on the in-memory store:
    baseline  no people directory (open mode); the message goes to an `email` field's value
    people    a directory of 200 people; the caller named as a person (`actor`, `role`), the
              task assigned, and the message goes to the role owning the work, resolved through
              the directory to the assignee's address
Target: people / baseline <= 1.10. The runs alternate within each round, which goes first
swapping from round to round (the machine's load drifts); each figure is the median of its
rounds, the ratio the median of the rounds' ratios.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
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
id: toggle_%(to)s
version: 1
roles:
  agent: {title: Agent, manager: lead}
  lead: {title: Lead}
fields:
  n: {type: int, default: 0}
  client_email: {type: email, default: client@example.com}
states:
  a: {initial: true, queue: desk, owner: agent}
  b: {queue: desk, owner: agent}
  done: {terminal: true}
transitions:
  - trigger: go
    source: a
    dest: b
    guard: "n >= 0"
    roles: [agent]
    actions:
      - set: {n: "n + 1"}
      - notify: {to: [%(to)s], subject: "Step {n}"}
  - trigger: back
    source: b
    dest: a
    guard: "n >= 0"
    roles: [agent]
    actions:
      - set: {n: "n + 1"}
      - notify: {to: [%(to)s], subject: "Step {n}"}
  - trigger: finish
    source: [a, b]
    dest: done
    roles: [agent]
"""


def team(size: int = 200) -> PeopleDirectory:
    people = [Person("lead", "Lead", "lead@example.com", ("lead",))]
    people += [
        Person(f"p{i}", f"Person {i}", f"p{i}@example.com", ("agent",), "lead") for i in range(size)
    ]
    return PeopleDirectory.of(people)


def fires(engine: Engine, instance: str, who: dict[str, str]) -> object:
    state = {"s": engine.show(instance).state}

    def run(count: int) -> None:
        for _ in range(count):
            view = engine.fire(instance, "go" if state["s"] == "a" else "back", **who)
            state["s"] = view.state

    return run


def main() -> None:
    quick = "--quick" in sys.argv
    count, rounds = (300, 5) if quick else (500, 31)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        plain_catalog = Catalog((load_text(PROCESS % {"to": "client_email"}, "p.yaml").process,))
        people_catalog = Catalog((load_text(PROCESS % {"to": "agent"}, "q.yaml").process,))
        plain = Engine(plain_catalog, store=MemoryStore(), clock=ManualClock(T0), sheets_dir=tmp)
        people = Engine(
            people_catalog,
            store=MemoryStore(),
            clock=ManualClock(T0),
            sheets_dir=tmp,
            people=team(),
        )
        first = plain.start("toggle_client_email").id
        second = people.start("toggle_agent", actor="p7", role="agent").id
        people.claim(second, actor="p7", role="agent")
        runs = {
            "baseline": fires(plain, first, {"actor": "p7", "role": "agent"}),
            "people": fires(people, second, {"actor": "p7", "role": "agent"}),
        }
        for run in runs.values():
            run(count // 5)  # type: ignore[operator]  # warm up
        [message] = people.outbox()[-1:]
        assert message.to == ("p7@example.com",), message.to  # resolved to the assignee
        times: dict[str, list[float]] = {name: [] for name in runs}
        for number in range(rounds):
            # each round swaps which goes first, so neither gains from the other's warm caches
            order = list(runs.items()) if number % 2 == 0 else list(reversed(runs.items()))
            for name, run in order:
                start = time.perf_counter()
                run(count)  # type: ignore[operator]
                times[name].append((time.perf_counter() - start) / count)
        base, ours = statistics.median(times["baseline"]), statistics.median(times["people"])
        ratio = statistics.median(
            a / b for a, b in zip(times["people"], times["baseline"], strict=True)
        )
        print(
            f"in memory: fire with identity and recipients {ours * 1e6:.1f} us, open mode with "
            f"a field address {base * 1e6:.1f} us -> ratio {ratio:.3f}x (target <= 1.10x)"
        )


if __name__ == "__main__":
    main()
