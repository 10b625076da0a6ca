"""The editor's schemas and fulfil agree: what a schema refuses, fulfil refuses too; the
scenarios schema names exactly the keys the scenario reader takes; `fulfil schema` writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.definition.loader import load_text
from fulfil.engine.definition.validate.schema import SCHEMAS
from fulfil.engine.definition.yamlsource import parse
from fulfil.engine.errors import DefinitionError
from fulfil.engine.people.yamlfile import read_people
from fulfil.engine.testing import expectations, scenarios
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[3]
PROCESS_FILES = sorted(
    p for p in (ROOT / "processes").glob("*.yaml") if not p.name.endswith(".scenarios.yaml")
)
SCENARIO_FILES = sorted(ROOT.glob("processes/*.scenarios.yaml")) + sorted(
    ROOT.glob("tests/processes/scenarios/*.scenarios.yaml")
)


def plain_validator(name: str) -> Draft202012Validator:
    """The schema read by a stock 2020-12 validator, none of fulfil's own code involved."""
    schema = json.loads(SCHEMAS[name].read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_refuses(name: str, text: str) -> bool:
    try:
        data = parse(text).data
    except DefinitionError:
        return False  # not YAML at all: no schema sees it
    return any(True for _ in plain_validator(name).iter_errors(data))


def fulfil_refuses_process(text: str) -> bool:
    try:
        load_text(text, "f.yaml")
    except DefinitionError:
        return True
    return False


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tests" / "invalid").glob("*.yaml")), ids=lambda p: p.stem
)
def test_what_the_process_schema_refuses_fulfil_refuses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if schema_refuses("process", text):
        assert fulfil_refuses_process(text)


@pytest.mark.parametrize("path", PROCESS_FILES, ids=lambda p: p.stem)
def test_shipped_files_pass_their_schema(path: Path) -> None:
    name = "people" if path.name == "people.yaml" else "process"
    data = parse(path.read_text(encoding="utf-8")).data
    assert list(plain_validator(name).iter_errors(data)) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "tests" / "invalid_people").glob("*.yaml")), ids=lambda p: p.stem
)
def test_what_the_people_schema_refuses_fulfil_refuses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if schema_refuses("people", text):
        with pytest.raises(DefinitionError):
            read_people(text, "people.yaml")


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_scenario_files_pass_the_scenarios_schema_and_point_at_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert list(plain_validator("scenarios").iter_errors(parse(text).data)) == []
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (path.parent / first.split("$schema=")[1]).resolve() == SCHEMAS["scenarios"]


def _step_shapes() -> dict[str, set[str]]:
    schema: dict[str, Any] = json.loads(SCHEMAS["scenarios"].read_text(encoding="utf-8"))
    return {s["required"][0]: set(s["properties"]) for s in schema["$defs"]["step"]["oneOf"]}


def test_the_scenarios_schema_takes_the_keys_the_reader_takes() -> None:
    schema: dict[str, Any] = json.loads(SCHEMAS["scenarios"].read_text(encoding="utf-8"))
    steps = _step_shapes()
    assert tuple(steps) == scenarios.STEP_KINDS
    for kind, keys in steps.items():
        assert keys == set(scenarios._OPTIONS[kind]) | {kind}, kind
    expect = schema["$defs"]["step"]["oneOf"][-1]["properties"]["expect"]["properties"]
    assert set(expect) == set(expectations.EXPECT_KEYS)
    child = expect["children"]["additionalProperties"]["properties"]
    assert set(child) == set(expectations.CHILD_KEYS)
    assert set(expect["outbox"]["items"]["properties"]) == set(expectations.MESSAGE_KEYS)
    assert set(schema["$defs"]["scenario"]["properties"]) == set(scenarios._SCENARIO_KEYS)
    assert set(schema["properties"]) == set(scenarios._FILE_KEYS)


def test_a_misspelt_step_option_is_refused_by_the_scenarios_schema() -> None:
    text = "process: p\nscenarios:\n  - name: n\n    steps:\n      - fire: go\n        dat: {}\n"
    assert schema_refuses("scenarios", text)


@pytest.mark.parametrize("name", ["process", "scenarios", "people"])
def test_fulfil_schema_prints_and_writes_each_schema(name: str, tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(main, ["schema", name])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout) == json.loads(SCHEMAS[name].read_text(encoding="utf-8"))
    target = tmp_path / ".fulfil" / f"{name}.schema.json"
    written = runner.invoke(main, ["schema", name, "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == SCHEMAS[name].read_text(encoding="utf-8")


def test_fulfil_schema_refuses_an_unknown_name() -> None:
    result = CliRunner().invoke(main, ["schema", "proces"])
    assert result.exit_code == 2
    assert "process" in result.output
