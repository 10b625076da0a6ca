"""Hypothesis: ticking after every clock move or only at the end gives the same history."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import FulfilError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from fulfil.engine.testing.strategies import AdvanceStep, FireStep, event_sequences, start_data
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import T0

SHIPPED = load_directory(Path(__file__).resolve().parents[2] / "processes")
TIMED = ["facebook_access", "smm_fulfilment", "retention", "mass_comm_escalation"]
FACEBOOK = {"client": "Acme Motors", "client_email": "owner@acme.test", "fr_number": "FR-1"}
SPECIALIST = "ops_specialist"
# the outreach cadence after `begin` (a week between calls): calls and their outcomes, clock moves
# around the 7 days (drawn as often as calls), now and then the outcome that closes the task
_CALL = st.sampled_from(["reached", "no_answer", "left_voicemail", "wrong_number"]).map(
    lambda outcome: FireStep("log_call", {"outcome": outcome}, "sam", SPECIALIST)
)
_MOVE = st.sampled_from([1, 24, 72, 144, 168, 192, 400]).map(
    lambda hours: AdvanceStep(timedelta(hours=hours))
)
_CLOSE = st.sampled_from(
    [
        FireStep("access_obtained", {}, "sam", SPECIALIST),
        FireStep("access_not_obtained", {"actions_taken": "no reply"}, "sam", SPECIALIST),
    ]
)
OUTREACH = st.lists(st.one_of(_CALL, _MOVE, _CALL, _MOVE, _CLOSE), min_size=2, max_size=14).map(
    lambda steps: [FireStep("begin", {}, "sam", SPECIALIST), *steps]
)


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
                engine.fire(
                    instance, step.trigger, step.data, actor=step.actor, role=step.role
                ).state
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


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_outreach_cadence_same_history_whatever_the_lag(kind: str) -> None:
    """facebook_access calls and reminders: ticking rarely gives the tick-often history."""

    @settings(max_examples=40 if kind == "memory" else 15, deadline=None)
    @given(OUTREACH)
    def check(steps: list[Any]) -> None:
        often, rarely = _histories(kind, "facebook_access", FACEBOOK, steps)
        assert rarely == often

    check()


def _cases(process: str) -> st.SearchStrategy[tuple[dict[str, Any], list[Any]]]:
    spec = SHIPPED.get(process)
    return st.tuples(start_data(spec), event_sequences(spec, max_len=12))


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("process", TIMED)
def test_worker_lag_does_not_change_history(kind: str, process: str) -> None:
    """Random fires and clock moves: histories, states and outboxes match tick-often runs."""

    @settings(max_examples=25 if kind == "memory" else 12, deadline=None)
    @given(_cases(process))
    def check(case: tuple[dict[str, Any], list[Any]]) -> None:
        data, steps = case
        often, rarely = _histories(kind, process, data, steps)
        assert rarely == often

    check()
