"""Every file in tests/invalid/ holds one mistake; its first line says where and what is reported.

The header is `# expect: LINE:COL: message-substring`; the test asserts that loading the file
fails with an error at exactly that line and column whose message contains the substring.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fulfil.engine.commands.validation import format_problem
from fulfil.engine.definition.loader import load_text
from fulfil.engine.errors import DefinitionError

CORPUS = Path(__file__).resolve().parents[2] / "invalid"
HEADER = re.compile(r"# expect: (\d+):(\d+): (.+)")
FILES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    """The corpus keeps at least 30 one-mistake definitions."""
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_invalid_definition_reports_its_mistake(path: Path) -> None:
    """Loading the definition fails with the expected message at the expected line and column."""
    text = path.read_text(encoding="utf-8")
    header = HEADER.match(text.splitlines()[0])
    assert header, f"{path.name} lacks a `# expect: LINE:COL: message` first line"
    line, column, expected = int(header[1]), int(header[2]), header[3]
    with pytest.raises(DefinitionError) as caught:
        load_text(text, path.name, known_processes=["mini"])
    errors = [p for p in caught.value.errors]
    here = [
        format_problem(p) for p in errors if (p.location.line, p.location.column) == (line, column)
    ]
    assert any(expected in message for message in here), "\n".join(map(format_problem, errors))
