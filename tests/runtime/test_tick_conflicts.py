"""Ticks that lose a race with another writer: retried like `fire`, and the worker carries on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fulfil.engine.errors import ConflictError, StoreError
from fulfil.engine.runtime import Engine
from fulfil.engine.store.base import Transaction
from fulfil.engine.worker import Worker
from runtime_support import T0
from test_engine import started


def _conflict_after_writing(engine: Engine, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The first `times` timer firings write everything, then lose the revision check."""
    original = engine.executor.fire
    lost = {"left": times}

    def racing(tx: Transaction, *args: Any, **kwargs: Any) -> Any:
        outcome = original(tx, *args, **kwargs)
        if kwargs.get("kind") == "timer" and lost["left"] > 0:
            lost["left"] -= 1
            raise ConflictError("instance changed since it was read")
        return outcome

    monkeypatch.setattr(engine.executor, "fire", racing)


def test_tick_retries_a_lost_race_and_fires_the_timer_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conflict on the first attempt rolls back claim and writes; the retry fires it once."""
    instance = started(engine)
    _conflict_after_writing(engine, monkeypatch, times=1)
    fired = engine.tick(T0 + timedelta(days=7, minutes=1))
    assert [(f.instance, f.timer, f.refused) for f in fired] == [(instance, "next_call_due", None)]
    timer_events = [e for e in engine.history(instance) if e.kind == "timer"]
    assert [(e.trigger, e.at) for e in timer_events] == [("remind", T0 + timedelta(days=7))]
    assert engine.show(instance).data["log"].splitlines() == ["2026-03-09: Reminder: next call due"]
    assert engine.tick(T0 + timedelta(days=7, minutes=2)) == []
    assert engine.verify(instance).ok


def test_tick_gives_up_after_the_retries_and_leaves_the_timer_pending(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Losing every attempt raises ConflictError with nothing written; a later tick fires it."""
    instance = started(engine)
    _conflict_after_writing(engine, monkeypatch, times=engine.retries + 1)
    with pytest.raises(ConflictError):
        engine.tick(T0 + timedelta(days=7, minutes=1))
    assert [e.kind for e in engine.history(instance)].count("timer") == 0
    fired = engine.tick(T0 + timedelta(days=7, minutes=2))
    assert [f.timer for f in fired] == ["next_call_due"]


@pytest.mark.parametrize("error", [ConflictError("lost a race"), StoreError("database busy")])
def test_worker_reports_a_failed_tick_and_keeps_going(engine: Engine, error: Exception) -> None:
    """A tick failing on the database is echoed; the next round fires what is due."""
    instance = started(engine)
    lines: list[str] = []
    worker = Worker(engine, adapter=None, poll=0, echo=lines.append)
    real_tick = engine.tick
    calls = {"n": 0}

    def tick(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return real_tick(T0 + timedelta(days=7, minutes=1), **kwargs)

    engine.tick = tick  # type: ignore[method-assign]
    assert worker.round() == 0
    assert lines == [f"tick stopped, retried next round: {error}"]
    assert worker.round() == 1
    assert lines[-1].endswith(f"{instance} next_call_due (remind) -> in_progress")
