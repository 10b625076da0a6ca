"""Fixtures of the operations tests: each store in turn, engines over the `access` fixture."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store

sys.path.insert(0, str(Path(__file__).parent.parent / "store"))
from ops_support import ACCESS, T0, TEAM
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped after the test."""
    require_server()
    schema = new_schema()
    yield with_schema(URL, schema)
    drop_schema(schema)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store in turn, empty."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "t.db")
    else:
        from fulfil.engine.store.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_url"))
        made.upgrade()
    yield made
    made.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def access_catalog() -> Catalog:
    return Catalog((load_file(ACCESS).process,))


@pytest.fixture
def engine(store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    """An engine in open mode over the `access` fixture process."""
    return Engine(access_catalog(), store=store, clock=clock, sheets_dir=tmp_path / "sheets")


@pytest.fixture
def team_engine(store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    """An engine with a people directory (sam works, lee leads, olga is an operator)."""
    return Engine(
        access_catalog(), store=store, clock=clock, sheets_dir=tmp_path / "sheets", people=TEAM
    )
