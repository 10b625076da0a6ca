"""Fixtures of the external-work tests: the onboarding process on every store, a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

PROCESSES = Path(__file__).parent / "processes"
JOBS_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog((load_file(PROCESSES / "onboarding.yaml").process,))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(JOBS_T0)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens stores on one database: each call a new connection (PostgreSQL, SQLite) or the
    one memory store; a PostgreSQL schema of the test's own, dropped afterwards."""
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
    elif request.param == "sqlite":

        def opener() -> Store:
            made = SQLiteStore(tmp_path / "jobs.db")
            opened.append(made)
            return made
    else:
        shared = MemoryStore()
        opened.append(shared)

        def opener() -> Store:
            return shared

    yield opener
    for made in opened:
        made.close()
    if request.param == "postgres":
        drop_schema(schema)


@pytest.fixture
def make_engine(
    catalog: Catalog, clock: ManualClock, open_store: Callable[[], Store]
) -> Callable[[], Engine]:
    """A new engine on its own connection to the test's database, each call."""
    return lambda: Engine(catalog, store=open_store(), clock=clock)


@pytest.fixture
def engine(make_engine: Callable[[], Engine]) -> Engine:
    return make_engine()
