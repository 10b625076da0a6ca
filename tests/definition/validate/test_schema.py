"""The process JSON Schema and the human messages its errors are turned into."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.definition.loader import definition_files
from fulfil.engine.definition.validate.schema import load_schema, schema_problems
from fulfil.engine.definition.yamlsource import parse
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[3]


def _subschemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _subschemas(value, f"{where}/{i}")


def _messages(text: str) -> list[str]:
    return [str(p) for p in schema_problems(parse(text, "f.yaml"))]


def test_schema_is_valid_draft_2020_12() -> None:
    """The schema itself is a valid JSON Schema 2020-12 document."""
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_object_refuses_unknown_keys() -> None:
    """Every object with declared properties sets additionalProperties: false."""
    for where, node in _subschemas(load_schema()):
        if "properties" in node and where.split("/")[-1] != "properties":
            assert node.get("additionalProperties") is False, where


def test_every_property_has_a_description() -> None:
    """Editors show descriptions: every declared property has one."""
    for where, node in _subschemas(load_schema()):
        if where.endswith("/properties"):
            for name, prop in node.items():
                assert prop.get("description"), f"{where}/{name}"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("90m", True),
        ("24h", True),
        ("7d", True),
        ("2w", True),
        ("P1W", True),
        ("PT24H", True),
        ("P1DT2H", True),
        ("7 days", False),
        ("P1M", False),
        ("1.5h", False),
    ],
)
def test_duration_pattern(text: str, ok: bool) -> None:
    """The duration pattern accepts the short and ISO forms only."""
    assert bool(re.fullmatch(load_schema()["$defs"]["duration"]["pattern"], text)) is ok


@pytest.mark.parametrize("path", definition_files(ROOT / "processes"), ids=lambda p: p.stem)
def test_shipped_processes_fit_the_schema(path: Path) -> None:
    """Every shipped definition passes the schema and names it for editors on its first line."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/process.schema.json")
    assert _messages(text) == []


BASE = (
    "id: p\nversion: 1\nstates:\n  a: {initial: true}\n"
    "transitions:\n  - {trigger: go, source: a, dest: a}\n"
)


def test_unknown_key_is_reported_at_the_key_with_a_suggestion() -> None:
    """A misspelt key names the mapping kind and the closest known key, and no 'missing' error."""
    text = BASE.replace("{trigger: go,", "{trigers: go,")
    assert _messages(text) == [
        "f.yaml:6:6: error: unknown key 'trigers' in transition; did you mean 'trigger'?"
    ]


def test_wrong_type_says_what_was_expected() -> None:
    """A type error names the expected type and shows the value."""
    assert _messages(BASE.replace("version: 1", "version: x")) == [
        "f.yaml:2:10: error: expected an integer, got 'x'"
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7", "a duration needs a unit: write 7d (days), 7h (hours) or 7m (minutes)"),
        ("2.0", "a duration needs a unit: write 2d (days), 2h (hours) or 2m (minutes)"),
        ("1.5", "a duration needs whole numbers and units: write e.g. 1d12h or 90m"),
    ],
)
def test_a_duration_without_a_unit_says_to_add_one(value: str, message: str) -> None:
    """`after: 7` asks for a unit instead of saying "expected a string"."""
    timer = f"  a:\n    initial: true\n    timers: [{{after: {value}, trigger: go}}]\n"
    text = BASE.replace("  a: {initial: true}\n", timer)
    assert _messages(text) == [f"f.yaml:6:22: error: {message}"]


def test_missing_key_is_reported_at_the_parent_mapping() -> None:
    """A missing required key is reported where the mapping starts, naming the key."""
    text = BASE.replace(", source: a,", ",")
    assert _messages(text) == ["f.yaml:6:5: error: missing required key 'source' in transition"]


def test_transition_without_dest_is_valid() -> None:
    """`dest` is optional: a transition without it is internal (it stays in its state)."""
    assert _messages(BASE.replace(", dest: a}", "}")) == []


def test_bad_names_suggest_an_identifier() -> None:
    """A state name with spaces is reported at its key with a snake_case example."""
    messages = _messages(
        BASE.replace("  a: {initial: true}", "  a: {initial: true}\n  On Hold: {}")
    )
    assert messages == [
        "f.yaml:5:3: error: bad name 'On Hold': use lowercase letters, digits and underscores, "
        "starting with a letter (e.g. 'on_hold')"
    ]


def test_alternatives_pick_the_one_meant() -> None:
    """For `source`, a list with a bad item reports the item, not 'not valid under any schema'."""
    messages = _messages(BASE.replace("source: a,", "source: [a, B],"))
    assert messages == [
        "f.yaml:6:31: error: bad name 'B': use lowercase letters, digits and underscores, "
        "starting with a letter"
    ]
    assert _messages(BASE.replace("source: a,", "source: 3,")) == [
        "f.yaml:6:27: error: expected '*', a name or a list, got 3"
    ]


def test_enum_values_suggest_the_closest() -> None:
    """A misspelt enum value gets a did-you-mean."""
    text = BASE + "fields:\n  n: {type: strng}\n"
    assert _messages(text) == [
        "f.yaml:8:13: error: bad value 'strng' for type: did you mean 'string'?"
    ]


def test_every_error_is_reported_once() -> None:
    """Independent mistakes are all reported, sorted by line."""
    text = BASE.replace("version: 1", "version: 0").replace("{initial: true}", "{initial: yes}")
    assert _messages(text) == [
        "f.yaml:2:10: error: 0 is too small: the smallest allowed is 1",
        "f.yaml:4:16: error: expected true or false, got 'yes'",
    ]


def test_empty_document_is_one_clear_problem() -> None:
    """An empty file says what a process needs."""
    assert _messages("") == [
        "f.yaml:1:1: error: the file is empty: a process needs id, version and states"
    ]


def test_non_mapping_document_is_refused() -> None:
    """A list at the top level is a type error at line 1."""
    assert _messages("- a\n") == ["f.yaml:1:1: error: expected a mapping, got a list"]


def test_repeated_values_are_judged_at_every_place() -> None:
    """A value found valid once is not trusted elsewhere under another subschema, and a repeated
    bad value (scalar or inside a repeated list) is reported at each of its places."""
    text = (
        "id: p\nversion: 1\nstates:\n  a: {initial: true, status: 'yes'}\n"
        "  b: {initial: yes}\n  c: {initial: yes}\n"
        "transitions:\n  - {trigger: go, source: [a], dest: b, roles: [x]}\n"
        "  - {trigger: go, source: [a, 'A'], dest: b, roles: [x]}\n"
        "  - {trigger: go, source: [a, 'A'], dest: b, roles: [x]}\n"
    )
    bad = "use lowercase letters, digits and underscores, starting with a letter"
    assert _messages(text) == [
        "f.yaml:5:16: error: expected true or false, got 'yes'",
        "f.yaml:6:16: error: expected true or false, got 'yes'",
        f"f.yaml:9:31: error: bad name 'A': {bad}",
        f"f.yaml:10:31: error: bad name 'A': {bad}",
    ]


def test_repeated_nested_values_are_judged_at_every_place() -> None:
    """A repeated bad action is reported in each transition, a repeated good one in none."""
    action = "actions: [{set: {n: '1'}}, {sett: {n: '1'}}]"
    text = BASE + (
        f"  - {{trigger: a, source: a, dest: a, {action}}}\n"
        f"  - {{trigger: b, source: a, dest: a, {action}}}\n"
    )
    assert _messages(text) == [
        "f.yaml:7:66: error: unknown key 'sett' in action; did you mean 'set'?",
        "f.yaml:8:66: error: unknown key 'sett' in action; did you mean 'set'?",
    ]


@pytest.mark.parametrize(
    "line",
    ['id: "mini\\n"', 'version: 1\nid: mini\ncalendars: {w: {hours: "09:00-17:00\\n"}}'],
)
def test_a_value_ending_in_a_newline_does_not_match_an_anchored_pattern(line: str) -> None:
    """Python's `$` matches before a final newline; the editor's (ECMA-262) does not, and
    fulfil reads patterns as the editor does."""
    messages = _messages(line + "\n")
    assert any("mini\\n" in m or "17:00\\n" in m for m in messages), messages


def test_a_pattern_keeps_its_meaning_otherwise() -> None:
    from fulfil.engine.definition.validate.schema import ecma_pattern

    assert ecma_pattern(r"^[a-z$]+$").search("ab$")
    assert not ecma_pattern(r"^[a-z]+$").search("ab\n")
    assert ecma_pattern(r"^a\$$").search("a$")
