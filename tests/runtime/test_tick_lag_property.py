"""Hypothesis: ticking after every clock move or only at the end gives the same history."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import T0
from fulfil.engine.clock import ManualClock
from fulfil.engine.errors import FulfilError
from fulfil.engine.loader import load_directory
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from fulfil.engine.testing.strategies import AdvanceStep, FireStep, event_sequences, start_data
from hypothesis import given, settings
from hypothesis import strategies as st

SHIPPED = load_directory(Path(__file__).resolve().parents[2] / "processes")
TIMED = ["facebook_access", "smm_fulfilment", "retention", "mass_comm_escalation"]


def _run(
    store: Store, process: str, data: dict[str, Any], steps: list[Any], *, often: bool
) -> tuple[Any, ...]:
    """Start, play the steps (ticking after each clock move when `often`), tick at the end."""
    clock = ManualClock(T0)
    engine = Engine(SHIPPED, store=store, clock=clock, sheets_dir=Path(tempfile.mkdtemp()))
    try:
        instance = engine.start(process, data, id="x").id
    except FulfilError as exc:
        return ("start refused", str(exc))
    answers: list[str] = []
    for step in steps:
        if isinstance(step, AdvanceStep):
            clock.advance(step.delta)
            if often:
                engine.tick()
            continue
        assert isinstance(step, FireStep)
        try:
            answers.append(
                engine.fire(instance, step.trigger, step.data, actor=step.actor, role=step.role).state
            )
        except FulfilError as exc:
            answers.append(f"{type(exc).__name__}: {exc}")
    engine.tick()
    events = [
        (e.seq, e.at, e.actor, e.role, e.kind, e.trigger, e.source, e.dest, e.data, e.detail)
        for e in engine.history(instance)
    ]
    view = engine.show(instance)
    outbox = [(m.subject, m.to, m.created_at) for m in engine.outbox()]
    return tuple(events), view.state, view.data, tuple(answers), tuple(outbox)


def _histories(
    kind: str, process: str, data: dict[str, Any], steps: list[Any]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    if kind == "memory":
        often = _run(MemoryStore(), process, data, steps, often=True)
        rarely = _run(MemoryStore(), process, data, steps, often=False)
        return often, rarely
    with tempfile.TemporaryDirectory() as folder:
        stores = [SQLiteStore(Path(folder) / "often.db"), SQLiteStore(Path(folder) / "rare.db")]
        try:
            often = _run(stores[0], process, data, steps, often=True)
            rarely = _run(stores[1], process, data, steps, often=False)
        finally:
            for store in stores:
                store.close()
    return often, rarely


def _cases(process: str) -> st.SearchStrategy[tuple[dict[str, Any], list[Any]]]:
    spec = SHIPPED.get(process)
    return st.tuples(start_data(spec), event_sequences(spec, max_len=12))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("process", TIMED)
def test_worker_lag_does_not_change_history(kind: str, process: str) -> None:
    """Random fires and clock moves: histories, states and outboxes match tick-often runs."""

    @settings(max_examples=80 if kind == "memory" else 12, deadline=None)
    @given(_cases(process))
    def check(case: tuple[dict[str, Any], list[Any]]) -> None:
        data, steps = case
        often, rarely = _histories(kind, process, data, steps)
        assert rarely == often

    check()

