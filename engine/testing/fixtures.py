"""pytest fixtures for applications that embed the engine: `clock`, `engine` and their inputs.

Enable them in the application's `conftest.py`:

    pytest_plugins = ["fulfil.engine.testing.fixtures"]

`engine` runs the catalog of `fulfil_processes` (a folder of definitions: override that
fixture; default `./processes` when it exists, else the processes shipped with fulfil) on a
fresh in-memory store, with the `clock` fixture (a `ManualClock` at `FIXTURE_T0`; advance it
to make timers due) and its sheets in the test's `tmp_path`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ..clock.clocks import ManualClock
from ..definition.loader import Catalog, load_directory
from ..runtime.engine import Engine
from ..store.memory import MemoryStore

__all__ = ["FIXTURE_T0", "clock", "engine", "fulfil_catalog", "fulfil_processes"]

FIXTURE_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
SHIPPED = Path(__file__).resolve().parents[2] / "processes"


@pytest.fixture
def fulfil_processes() -> Path:
    """The folder of process definitions the `engine` fixture runs."""
    local = Path("processes")
    return local if local.is_dir() else SHIPPED


@pytest.fixture
def fulfil_catalog(fulfil_processes: Path) -> Catalog:
    """The definitions of `fulfil_processes`, validated (a DefinitionError fails the test)."""
    return load_directory(fulfil_processes)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at FIXTURE_T0."""
    return ManualClock(FIXTURE_T0)


@pytest.fixture
def engine(fulfil_catalog: Catalog, clock: ManualClock, tmp_path: Path) -> Engine:
    """An engine over `fulfil_catalog` on a fresh in-memory store, reading `clock`."""
    return Engine(fulfil_catalog, store=MemoryStore(), clock=clock, sheets_dir=tmp_path / "sheets")
