"""Checks across processes: what a task writes to the request that starts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock, parse_now
from fulfil.engine.definition.loader import load_directory, load_files
from fulfil.engine.errors import DefinitionError, ExecutionError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import open_store

FOLDER = Path(__file__).parents[2] / "processes" / "family_undeclared"


def test_a_task_appending_to_an_undeclared_request_field_is_refused_at_load() -> None:
    """The folder is refused, at the task's append, naming the field and where to declare it."""
    with pytest.raises(DefinitionError) as caught:
        load_directory(FOLDER)
    (problem,) = caught.value.errors
    assert problem.location.file.endswith("task.yaml")
    assert problem.location.line == 17
    assert "appends to the request's field 'log', which 'request' does not declare" in (
        problem.message
    )
    assert "declare `log: {type: text}`" in problem.hint


def test_a_task_under_a_parent_without_the_field_is_refused_at_run_time(tmp_path: Path) -> None:
    """A task started by hand under a request lacking the field is refused; nothing stored."""
    other = tmp_path / "other.yaml"
    other.write_text(
        "id: other\nversion: 1\nfields: {client: {type: string}}\n"
        "states: {open: {initial: true}, done: {terminal: true}}\n"
        "transitions: [{trigger: finish, source: open, dest: done}]\n"
    )
    catalog = load_files([FOLDER / "task.yaml", other])
    engine = Engine(
        catalog,
        store=open_store("memory://"),
        clock=ManualClock(parse_now("2026-01-05T09:00:00Z")),
        sheets_dir=tmp_path,
    )
    engine.start("other", {"client": "Acme"}, id="r1")
    engine.start("task", {"client": "Acme"}, id="t1", parent="r1")
    before = [e.seq for e in engine.history("r1")], engine.show("t1").state
    with pytest.raises(ExecutionError, match="does not declare as a text field"):
        engine.fire("t1", "complete", actor="w", role="worker")
    assert ([e.seq for e in engine.history("r1")], engine.show("t1").state) == before
    assert engine.verify().ok


def test_a_task_notifying_a_recipient_its_request_lacks_is_a_warning(tmp_path: Path) -> None:
    """`notify on_parent` to a name the request does not declare loads, with a warning."""
    request = (
        (FOLDER / "request.yaml")
        .read_text()
        .replace(
            "  client: {type: string, required: true}\n",
            "  client: {type: string, required: true}\n  log: {type: text}\n",
        )
    )
    task = (FOLDER / "task.yaml").read_text() + (
        "      - notify: {channel: email, to: [account_manager], subject: Done, on_parent: true}\n"
    )
    (tmp_path / "request.yaml").write_text(request)
    (tmp_path / "task.yaml").write_text(task)
    catalog = load_directory(tmp_path)
    (warning,) = [w for w in catalog.warnings if "on its request" in w.message]
    assert warning.severity == "warning"
    assert "notifies 'account_manager'" in warning.message
