"""Hypothesis: a request and its tasks get the same histories however late the worker ticks."""

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
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import T0

SHIPPED = load_directory(Path(__file__).resolve().parents[2] / "processes")
REQUEST = {"client": "Acme Motors", "client_email": "owner@acme.test", "fr_number": "FR-1"}
OPS, AM = "ops_specialist", "account_manager"
# (task, trigger, data, role): what people do on the tasks of pdm_outreach
ACTS = [
    ("cs_intake", "complete", {}, AM),
    ("intake_call", "begin", {}, OPS),
    *[("intake_call", "log_call", {"outcome": o}, OPS) for o in ("reached", "no_answer")],
    ("obtain_access", "begin", {}, OPS),
    ("obtain_access", "complete", {}, OPS),
    ("obtain_access", "decline", {"actions_taken": "no reply"}, OPS),
    ("send_outreach_email", "complete", {}, OPS),
]
STEPS = st.lists(
    st.one_of(
        st.sampled_from(ACTS),
        st.sampled_from([1, 24, 144, 168, 192, 400]).map(lambda h: timedelta(hours=h)),
    ),
    min_size=3,
    max_size=16,
).map(lambda steps: [ACTS[0], ACTS[1], *steps])


def _run(store: Store, steps: list[Any], *, often: bool) -> tuple[Any, ...]:
    clock = ManualClock(T0)
    engine = Engine(SHIPPED, store=store, clock=clock, sheets_dir=Path(tempfile.mkdtemp()))
    request = engine.start("pdm_outreach", REQUEST, id="r").id
    answers: list[str] = []
    for step in steps:
        if isinstance(step, timedelta):
            clock.advance(step)
            if often:
                engine.tick()
            continue
        task, trigger, data, role = step
        try:
            answers.append(engine.fire(f"{request}.{task}", trigger, data, role=role).state)
        except FulfilError as exc:
            answers.append(f"{type(exc).__name__}: {exc}")
    engine.tick()
    ids = [request, *(f"{request}.{task}" for task in sorted({a[0] for a in ACTS}))]
    histories = {
        i: [
            (e.seq, e.at, e.actor, e.role, e.kind, e.trigger, e.source, e.dest, e.data, e.detail)
            for e in engine.history(i)
        ]
        for i in ids
    }
    return histories, tuple(answers), tuple((m.subject, m.created_at) for m in engine.outbox())


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_family_histories_do_not_depend_on_the_worker_lag(kind: str) -> None:
    """Random task work and clock moves: every history matches the tick-often run's."""

    @settings(max_examples=80 if kind == "memory" else 15, deadline=None)
    @given(STEPS)
    def check(steps: list[Any]) -> None:
        if kind == "memory":
            often = _run(MemoryStore(), steps, often=True)
            rarely = _run(MemoryStore(), steps, often=False)
        else:
            with tempfile.TemporaryDirectory() as folder:
                first, second = (
                    SQLiteStore(Path(folder) / "a.db"),
                    SQLiteStore(Path(folder) / "b.db"),
                )
                often = _run(first, steps, often=True)
                rarely = _run(second, steps, often=False)
                first.close()
                second.close()
        assert rarely == often

    check()
