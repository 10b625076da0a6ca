"""Fixtures of the runtime tests: the `access` fixture process, a manual clock, engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from runtime_support import FIXTURES, T0


@pytest.fixture
def catalog() -> Catalog:
    return Catalog((load_file(FIXTURES / "access.yaml").process,))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "f.db")
    yield made
    made.close()


@pytest.fixture
def engine(catalog: Catalog, store: Store, clock: ManualClock, tmp_path: Path) -> Engine:
    return Engine(catalog, store=store, clock=clock, sheets_dir=tmp_path / "sheets")
