"""The language server's logic as pure functions of a document's text and a position."""

from __future__ import annotations

from pathlib import Path

from fulfil.engine.lsp.diagnostics import diagnose
from fulfil.engine.lsp.types import ERROR, WARNING, Position, from_utf16, to_utf16

ROOT = Path(__file__).resolve().parents[2]


def test_a_yaml_file_that_is_not_fulfils_gets_no_diagnostics() -> None:
    """Editors send every YAML file: a CI workflow is left alone, a process is not."""
    workflow = "name: CI\non:\n  push:\njobs:\n  build: {runs-on: ubuntu-latest}\n"
    assert diagnose(workflow, "/repo/.github/workflows/ci.yaml") == []
    broken = "id: mini\nversion: 1\nstatez: {}\n"
    found = diagnose(broken, None)
    assert found and all(d.severity == ERROR for d in found)


def test_warnings_are_warnings_with_their_hint() -> None:
    """A warning of validate is a warning, its hint in brackets as validate prints it."""
    path = ROOT / "tests" / "invalid" / "append_to_non_text_field.yaml"
    found = diagnose(path.read_text(encoding="utf-8"), path)
    assert [d.severity for d in found] == [WARNING, WARNING, ERROR]
    assert found[-1].message.endswith("(declare it `type: text`)")


def test_ranges_cover_the_value_written() -> None:
    """A diagnostic spans the offending value, quotes included, not just its first letter."""
    path = ROOT / "tests" / "invalid" / "bad_duration.yaml"
    (found,) = diagnose(path.read_text(encoding="utf-8"), path)
    assert (found.range.start, found.range.end) == (Position(13, 16), Position(13, 22))


def test_columns_count_utf16_code_units() -> None:
    """Beyond the basic plane a character is two units, as the protocol counts by default."""
    line = "title: 🚀 go"
    assert to_utf16(line, line.index("g")) == line.index("g") + 1
    assert from_utf16(line, to_utf16(line, line.index("g"))) == line.index("g")
