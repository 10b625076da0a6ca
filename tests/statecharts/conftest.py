"""Fixtures of the statechart tests: engines on the three stores, over the `desk` process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

FIXTURES = Path(__file__).parents[1] / "processes" / "statecharts"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        require_server()
        from fulfil.engine.store.postgres import PostgresStore

        schema = new_schema()
        made: Store = PostgresStore(with_schema(URL, schema))
        made.upgrade()
        yield made
        made.close()
        drop_schema(schema)
        return
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "f.db")
    yield made
    made.close()


@pytest.fixture
def desk(store: Store, clock: ManualClock) -> Engine:
    catalog = Catalog((load_file(FIXTURES / "desk.yaml").process,))
    return Engine(catalog, store=store, clock=clock)
