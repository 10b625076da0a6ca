"""The `engine` and `clock` fixtures `fulfil.engine.testing.fixtures` ships for applications."""

from __future__ import annotations

from datetime import timedelta

from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.testing.fixtures import (  # noqa: F401 (fixtures, as an app's conftest loads them)
    FIXTURE_T0,
    clock,
    engine,
    fulfil_catalog,
    fulfil_processes,
)


def test_the_shipped_fixtures_run_the_shipped_processes(
    engine: Engine,  # noqa: F811
    clock: ManualClock,  # noqa: F811
) -> None:
    """`engine` runs the processes shipped with fulfil on the `clock` fixture's time."""
    assert clock.now() == FIXTURE_T0
    assert "facebook_access" in [p.id for p in engine.catalog]  # type: ignore[attr-defined]
    assert engine.queue().ready == ()  # a fresh store per test
    clock.advance(timedelta(hours=1))
    assert engine.clock.now() == FIXTURE_T0 + timedelta(hours=1)
