"""Every file in tests/invalid_people/ is a people directory with one mistake; its first line
says where and what is reported (`# expect: LINE:COL: message-substring`), as for processes.

The directories are checked against the shipped processes, as `fulfil` checks the folder's
`people.yaml`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fulfil.engine.commands.validation import format_problem
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import DefinitionError
from fulfil.engine.people import load_people

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "invalid_people"
HEADER = re.compile(r"# expect: (\d+):(\d+): (.+)")
FILES = sorted(CORPUS.glob("*.yaml"))


@pytest.fixture(scope="module")
def shipped() -> list[object]:
    return list(load_directory(ROOT / "processes"))


def test_corpus_is_large_enough() -> None:
    """The corpus keeps at least 10 one-mistake directories."""
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_invalid_directory_reports_its_mistake(path: Path, shipped: list[object]) -> None:
    """Loading the directory fails with the expected message at the expected line and column."""
    header = HEADER.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert header, f"{path.name} lacks a `# expect: LINE:COL: message` first line"
    line, column, expected = int(header[1]), int(header[2]), header[3]
    with pytest.raises(DefinitionError) as caught:
        load_people(path, shipped)  # type: ignore[arg-type]
    here = [
        format_problem(p)
        for p in caught.value.errors
        if (p.location.line, p.location.column) == (line, column)
    ]
    assert any(expected in message for message in here), "\n".join(
        map(format_problem, caught.value.errors)
    )
    assert all(p.location.file == str(path) for p in caught.value.errors)
