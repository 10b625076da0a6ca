"""Concurrent fires on one instance under the real wall clock: each commits or conflicts.

An embedding application shares one Engine between request threads. A request that read the
clock before another committed must not be told that its history goes back in time: the engine
reads the clock once it holds the instance, so the steps serialise in commit order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fulfil.engine.clock import SystemClock
from fulfil.engine.definition.loader import Catalog
from fulfil.engine.errors import ConflictError, FulfilError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema
from runtime_support import CLIENT, OPS

THREADS, FIRES = 8, 25


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens stores on one database (PostgreSQL: a schema of this test, dropped afterwards)."""
    opened: list[Store] = []
    if request.param == "postgres":
        require_server()
        from fulfil.engine.store.postgres import PostgresStore

        schema = new_schema()
        url = with_schema(URL, schema)

        def opener() -> Store:
            made = PostgresStore(url)
            made.upgrade()
            opened.append(made)
            return made
    else:
        shared = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "f.db")
        opened.append(shared)

        def opener() -> Store:
            return shared

    yield opener
    for made in opened:
        made.close()
    if request.param == "postgres":
        drop_schema(schema)


def _hammer(engines: list[Engine], instance: str) -> tuple[int, list[Exception]]:
    """Fire `log_call` FIRES times from each of THREADS threads; (committed, errors raised)."""
    committed, failures = [0], []
    lock, gate = threading.Lock(), threading.Barrier(THREADS)

    def work(engine: Engine) -> None:
        gate.wait()
        for _ in range(FIRES):
            try:
                engine.fire(instance, "log_call", {"outcome": "no_answer"}, **OPS)
            except FulfilError as exc:
                with lock:
                    failures.append(exc)
            else:
                with lock:
                    committed[0] += 1

    threads = [
        threading.Thread(target=work, args=(engines[i % len(engines)],)) for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return committed[0], failures


@pytest.mark.parametrize("shared", [True, False], ids=["one-engine", "engine-per-thread"])
def test_concurrent_fires_on_one_instance_commit_or_conflict_never_clock_error(
    make_store: Callable[[], Store], catalog: Catalog, tmp_path: Path, shared: bool
) -> None:
    """8 threads x 25 fires on one instance, real clock: no ClockError, no lost or extra step."""
    count = 1 if shared else THREADS
    engines = [
        Engine(catalog, store=make_store(), clock=SystemClock(), sheets_dir=tmp_path / "sheets")
        for _ in range(count)
    ]
    engines[0].start("access", CLIENT, id="a-1", **OPS)
    engines[0].fire("a-1", "begin", **OPS)

    committed, failures = _hammer(engines, "a-1")

    assert all(isinstance(exc, ConflictError) for exc in failures), failures[:3]
    assert committed + len(failures) == THREADS * FIRES
    view = engines[0].show("a-1")
    assert view.data["attempt"] == committed
    history = engines[0].history("a-1")
    calls = [e for e in history if e.trigger == "log_call" and e.kind == "transition"]
    assert len(calls) == committed
    times = [e.at for e in history]
    assert times == sorted(times)
    if shared:
        assert failures == []  # one engine: its steps queue on the store, none is lost
