"""Fixtures of the operations tests: each store in turn, engines over the `access` fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store
from ops_support import ACCESS, T0, TEAM


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
