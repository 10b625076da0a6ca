"""A worker process for the concurrency tests: `python pg_worker.py MODE URL [options]`.

tick  URL [--slow SECONDS]   fire due timers until none is left in the database; with --slow,
                             every firing sleeps that long inside its transaction (so a kill
                             lands mid-transaction)
bump  URL --instances N --fires K --seed S [--retries R]
                             fire `bump` K times at random among instances c-0 .. c-(N-1),
                             each retried R times on a conflict

It prints one JSON line: {"fired": n} or {"ok": n, "conflicts": n}.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import ConflictError
from fulfil.engine.runtime import Engine
from fulfil.engine.store.postgres import PostgresStore, PostgresTransaction

PROCESS = Path(__file__).parent / "processes" / "counter.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)  # every `ring` timer (after 1h) is due


def engine(url: str, retries: int = 3) -> Engine:
    """An engine over the counter process and the store at `url`, its clock at LATER."""
    catalog = Catalog((load_file(PROCESS).process,))
    return Engine(catalog, store=PostgresStore(url), clock=ManualClock(LATER), retries=retries)


def due_left(store: PostgresStore) -> int:
    """Due timers nobody has fired (committed view)."""
    rows = store.execute("SELECT count(*) FROM timers WHERE fired_at IS NULL")
    return int(rows[0][0])


def tick(url: str, slow: float) -> dict[str, Any]:
    """Fire due timers until the database has none left; returns how many this worker fired."""
    if slow:
        original = PostgresTransaction.append_event

        def sleepy(self: PostgresTransaction, event: Any, texts: Any = None) -> None:
            time.sleep(slow)
            original(self, event, texts)

        PostgresTransaction.append_event = sleepy  # type: ignore[method-assign]
    eng = engine(url)
    store = eng.store
    assert isinstance(store, PostgresStore)
    fired = 0
    while True:
        try:
            fired += len(eng.tick(LATER))
        except ConflictError:
            continue
        if due_left(store) == 0:
            return {"fired": fired}
        time.sleep(0.01)  # what is left is held by other workers: let them finish or die


def bump(url: str, instances: int, fires: int, seed: int, retries: int) -> dict[str, Any]:
    """Fire `bump` at random instances; count successes and conflicts that outlived retries."""
    eng = engine(url, retries)
    chance = random.Random(seed)
    ok = conflicts = 0
    for _ in range(fires):
        target = f"c-{chance.randrange(instances)}"
        try:
            eng.fire(target, "bump", actor=f"w{seed}", role="bumper")
            ok += 1
        except ConflictError:
            conflicts += 1
    return {"ok": ok, "conflicts": conflicts}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["tick", "bump"])
    parser.add_argument("url")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--fires", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    if args.mode == "tick":
        result = tick(args.url, args.slow)
    else:
        result = bump(args.url, args.instances, args.fires, args.seed, args.retries)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
