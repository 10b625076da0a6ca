"""The plain-words YAML syntax errors hold for any broken file: located, inside it, no crash."""

from __future__ import annotations

from pathlib import Path

from fulfil.engine.definition.yamlsource import parse
from fulfil.engine.errors import DefinitionError
from hypothesis import given
from hypothesis import strategies as st

SHIPPED = Path(__file__).resolve().parents[2] / "processes" / "facebook_access.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")
# the characters people most often get wrong in YAML
MISTAKES = st.sampled_from(["\t", ":", '"', "'", "[", "]", "{", "}", "-", " ", "\n", "#", "@"])


@st.composite
def broken_files(draw: st.DrawFn) -> str:
    """The shipped reference process with a few characters inserted, deleted or replaced."""
    text = TEXT
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = "" if kind == "delete" else draw(MISTAKES)
        text = text[:at] + char + text[at + (kind != "insert") :]
    return text


@given(broken_files())
def test_a_broken_file_is_reported_inside_itself(text: str) -> None:
    """Whatever the mistake, parsing gives data or a DefinitionError whose every problem is at
    a line and column of the file, never another exception."""
    try:
        parse(text, "f.yaml")
    except DefinitionError as exc:
        lines = text.split("\n")
        for problem in exc.problems:
            where = problem.location
            assert 1 <= where.line <= len(lines) + 1, problem
            assert (
                1
                <= where.column
                <= len(lines[where.line - 1] if where.line <= len(lines) else "") + 2
            ), problem
            assert problem.message
