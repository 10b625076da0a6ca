"""What a trigger's data may set (`input:`): undeclared fields refused at run time, nothing
stored; `start.input`; a request's tasks started with the data their definition computes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.errors import DataError, NotFound
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore
from fulfil.engine.testing.suite import run_file

APPROVALS = """
id: approvals
version: 1
roles:
  clerk: {}
  approver: {}
fields:
  client: {type: string, required: true}
  credit: {type: bool, default: false}
  note: {type: string}
  reason: {type: string}
  attempt: {type: int, default: 0}
start:
  input: [credit]
states:
  draft: {initial: true}
  review: {}
  finance: {}
  done: {terminal: true}
transitions:
  - trigger: update
    source: draft
    dest: draft
    input: [credit, note]
    roles: [clerk]
  - trigger: submit
    source: draft
    dest: review
    roles: [clerk]
  - trigger: approve
    source: review
    dest: finance
    guard: "credit"
    roles: [approver]
  - trigger: approve
    source: review
    dest: done
    guard: "not credit"
    input: [note]
    roles: [approver]
  - trigger: reject
    source: [review, finance]
    dest: draft
    requires: [reason]
    roles: [approver]
  - trigger: approve
    source: finance
    dest: done
    roles: [approver]
"""
CLERK = {"actor": "cleo", "role": "clerk"}
BOSS = {"actor": "ann", "role": "approver"}


@pytest.fixture
def engine() -> Engine:
    process = load_text(APPROVALS, "approvals.yaml").process
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return Engine(Catalog((process,)), store=MemoryStore(), clock=clock)


def test_a_field_outside_the_transitions_input_is_refused_and_nothing_changes(
    engine: Engine,
) -> None:
    """An approver cannot clear the credit that sends the request to Finance."""
    started = engine.start("approvals", {"client": "Acme", "credit": True}, **CLERK)
    engine.fire(started.id, "submit", **CLERK)
    with pytest.raises(DataError, match="'approve' may not set 'credit': its data may set note"):
        engine.fire(started.id, "approve", {"credit": False}, **BOSS)
    shown = engine.show(started.id)
    assert (shown.state, shown.data["credit"]) == ("review", True)
    assert len(engine.history(started.id)) == 2
    assert engine.fire(started.id, "approve", **BOSS).state == "finance"


def test_a_transition_without_input_takes_no_data_but_its_requires(engine: Engine) -> None:
    """`submit` takes no data at all; `reject` takes its required reason and nothing else."""
    started = engine.start("approvals", {"client": "Acme"}, **CLERK)
    with pytest.raises(DataError, match="'submit' may not set 'note': its data may set no data"):
        engine.fire(started.id, "submit", {"note": "hello"}, **CLERK)
    engine.fire(started.id, "submit", **CLERK)
    with pytest.raises(DataError, match="may not set 'credit'"):
        engine.fire(started.id, "reject", {"reason": "late", "credit": True}, **BOSS)
    assert engine.fire(started.id, "reject", {"reason": "late"}, **BOSS).state == "draft"


def test_the_data_must_fit_the_transition_the_guards_chose(engine: Engine) -> None:
    """`note` is an input of one `approve` only: given where the other fires, it is refused."""
    started = engine.start("approvals", {"client": "Acme", "credit": True}, **CLERK)
    engine.fire(started.id, "submit", **CLERK)
    with pytest.raises(DataError, match="'approve' may not set 'note'"):
        engine.fire(started.id, "approve", {"note": "ok"}, **BOSS)
    assert engine.show(started.id).state == "review"


def test_start_takes_its_input_and_the_required_fields_only(engine: Engine) -> None:
    """A counter the engine keeps cannot be given at the start; nothing is stored."""
    with pytest.raises(DataError, match="start may not set 'attempt'"):
        engine.start("approvals", {"client": "Acme", "attempt": 2}, id="a1", **CLERK)
    with pytest.raises(NotFound):
        engine.show("a1")
    assert engine.start("approvals", {"client": "Acme", "credit": True}, id="a1").state == "draft"


def test_an_unknown_field_keeps_its_did_you_mean(engine: Engine) -> None:
    """A misspelt field is told as unknown, with the closest name, before the input check."""
    started = engine.start("approvals", {"client": "Acme"}, **CLERK)
    with pytest.raises(DataError, match=r"unknown field 'nots'.*did you mean 'note'"):
        engine.fire(started.id, "update", {"nots": "x"}, **CLERK)


SCENARIOS = """process: approvals
scenarios:
  - name: an approver tries to clear the credit
    steps:
      - start: {data: {client: Acme, credit: true}}
        as: "cleo:clerk"
      - fire: submit
        as: "cleo:clerk"
      - fire: approve
        as: "ann:approver"
        data: {credit: false}
        error: "may not set 'credit'"
      - fire: approve
        as: "ann:approver"
        data: {credit: false}
"""


def test_a_scenario_step_setting_an_undeclared_field_is_located_at_load(tmp_path: Path) -> None:
    """The key is reported where it is written; a step expecting the refusal is not."""
    (tmp_path / "approvals.yaml").write_text(APPROVALS, encoding="utf-8")
    (tmp_path / "approvals.scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    report = run_file(tmp_path / "approvals.scenarios.yaml")
    [problem] = report.problems
    assert (problem.location.line, problem.location.column) == (15, 16)
    assert "'approve' of approvals may not set 'credit' (it takes note)" in problem.message
    fixed = SCENARIOS[: SCENARIOS.rindex("      - fire: approve")]
    (tmp_path / "approvals.scenarios.yaml").write_text(fixed, encoding="utf-8")
    [result] = run_file(tmp_path / "approvals.scenarios.yaml").results
    assert result.passed, result
