"""Fixtures of the statechart tests: engines on the three stores, over the `desk` process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

FIXTURES = Path(__file__).parents[1] / "processes" / "statecharts"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def desk(store: Store, clock: ManualClock) -> Engine:
    catalog = Catalog((load_file(FIXTURES / "desk.yaml").process,))
    return Engine(catalog, store=store, clock=clock)
