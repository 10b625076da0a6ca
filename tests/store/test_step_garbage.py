"""A committed or rolled-back transaction leaves no reference cycle behind: it is freed at once,
so the cyclic garbage collector (which walks every live object) is not set off every few dozen
steps by transactions waiting for it."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.store import InstanceRecord, MemoryStore, SQLiteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "g.db")


def writes(tx: Any, n: int) -> None:
    """Writes of a step, each with its undo step in memory."""
    tx.next_number("x")
    tx.next_position(f"i-{n}", 1, "", "")
    tx.insert_instance(InstanceRecord(f"i-{n}", "p", 1, "a", {"n": n}, T0, T0, T0))


@pytest.mark.parametrize("fails", [False, True])
def test_a_transaction_is_freed_without_the_collector(store: Any, fails: bool) -> None:
    gc.disable()  # only reference counting frees anything below
    try:
        with pytest.raises(RuntimeError) if fails else _nothing(), store.transaction() as tx:
            writes(tx, 1)
            if fails:
                raise RuntimeError("rolled back")
        gone = weakref.ref(tx)
        del tx
        assert gone() is None
    finally:
        gc.enable()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
