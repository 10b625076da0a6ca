"""The `job` action in the language: schema, model, and the checks that point at the value."""

from __future__ import annotations

import pytest
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError
from fulfil.engine.model import CreateJob

BASE = """
id: handoff
version: 1
roles:
  ops: {}
fields:
  client: {type: string, required: true}
  due: {type: date}
  task_id: {type: string}
states:
  new: {initial: true}
  waiting: {}
  done: {terminal: true}
transitions:
  - trigger: hand_off
    source: new
    dest: waiting
    actions:
      - job:
          type: TYPE
          payload: {client: client, due: due, label: "'fixed text'"}
          on_complete: COMPLETE
          result: RESULT
  - {trigger: task_made, source: waiting, dest: done, input: [task_id]}
"""


def _load(type: str = "crm.create_task", complete: str = "task_made", result: str = "task_id"):
    text = BASE.replace("TYPE", type).replace("COMPLETE", complete).replace("RESULT", result)
    return load_text(text, "handoff.yaml")


def _errors(**changes: str) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        _load(**changes)
    problems = [p for p in info.value.problems if p.is_error]
    return [f"{p.location.line}:{p.location.column}: {p.message}" for p in problems]


def test_a_job_action_builds_its_model() -> None:
    process = _load().process
    (action,) = process.transitions[0].actions
    assert isinstance(action, CreateJob)
    assert action.type == "crm.create_task"
    assert [key for key, _ in action.payload] == ["client", "due", "label"]
    assert action.on_complete == "task_made"
    assert action.result == ("task_id",)
    assert action.retries == 3


def test_an_unknown_completion_trigger_is_located_with_a_hint() -> None:
    (error,) = _errors(complete="task_mad")
    assert error.startswith("22:24:")  # at the trigger named
    assert "unknown trigger 'task_mad'" in error and "task_made" in error


def test_a_result_the_completion_trigger_does_not_take_is_refused() -> None:
    (error,) = _errors(result="client")
    assert error.startswith("23:19:")  # at the result
    assert "does not accept" in error and "input" in error


def test_an_unknown_result_field_is_refused() -> None:
    (error,) = _errors(result="task")
    assert "unknown field 'task'" in error and "task_id" in error


def test_a_job_type_must_be_dotted_lowercase_names() -> None:
    (error,) = _errors(type="CRM task")
    assert error.startswith("20:17:")  # at the type
    assert "crm.create_task" in error


def test_a_payload_expression_is_type_checked() -> None:
    with pytest.raises(DefinitionError) as info:
        load_text(
            BASE.replace("due: due", "due: undefined_name")
            .replace("TYPE", "crm.x")
            .replace("COMPLETE", "task_made")
            .replace("RESULT", "task_id"),
            "h.yaml",
        )
    assert any("undefined_name" in p.message for p in info.value.problems)
