"""The language server's logic as pure functions of a document's text and a position."""

from __future__ import annotations

from pathlib import Path

from fulfil.engine.lsp.diagnostics import diagnose
from fulfil.engine.lsp.features import complete, definition, hover
from fulfil.engine.lsp.outline import outline
from fulfil.engine.lsp.positions import ERROR, WARNING, Position, Range, from_utf16, to_utf16

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


ORDERS = """\
id: orders
version: 1
roles:
  clerk: {title: Clerk}
fields:
  amount: {type: int, default: 0}
states:
  open: {initial: true}
  done: {terminal: true}
transitions:
  - trigger: approve
    source: open
    dest: done
    actions:
      - set:
          amount: "amount + 1"
"""


def labels_at(text: str, line: int, character: int) -> list[str]:
    names = outline(text)
    assert names is not None
    return [item.label for item in complete(text, Position(line, character), names)]


def test_completion_context_comes_from_the_line_and_its_block() -> None:
    """`dest:` wants states; a key under `set:` wants a field; a value of a field in `set:`
    (an expression) wants fields; a key of the transition itself wants nothing."""
    lines = ORDERS.splitlines()
    assert labels_at(ORDERS, 12, len("    dest: ")) == ["open", "done"]
    assert labels_at(ORDERS, 15, len("          am")) == ["amount"]
    assert labels_at(ORDERS, 15, len('          amount: "am')) == ["amount"]
    assert labels_at(ORDERS, 11, len("    sour")) == []
    assert lines[15].startswith("          amount")


def test_outline_survives_a_broken_document_only_through_the_caller() -> None:
    """A text that does not parse has no outline (the server keeps the last one)."""
    assert outline(ORDERS + "  bad: [\n") is None
    names = outline(ORDERS)
    assert names is not None
    assert [n.name for n in names.of("state")] == ["open", "done"]
    found = names.find("done", ("state",))
    assert found is not None and (found.line, found.column) == (8, 2)


def test_hover_and_definition_on_an_unknown_word_give_nothing() -> None:
    names = outline(ORDERS)
    assert names is not None
    assert hover(ORDERS, Position(0, 5), names) is None  # `orders`: the id, not a name
    assert definition(ORDERS, Position(12, 12), names) == Range(Position(8, 2), Position(8, 6))
