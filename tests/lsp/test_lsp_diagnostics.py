"""`fulfil lsp` driven over stdio as an editor drives it: its diagnostics are what
`fulfil validate` prints, message for message, at the same lines and columns (0-based)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from lsp_client import Client

ROOT = Path(__file__).resolve().parents[2]
INVALID = sorted((ROOT / "tests" / "invalid").glob("*.yaml"))
LINE = re.compile(
    r"^(?P<file>.+?\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<warn>warning: )?(?P<msg>.*)$"
)

Expected = list[tuple[int, int, int, str]]


def validate(*paths: Path) -> dict[str, Expected]:
    """`fulfil validate PATHS`' problems by file name: (line, column, severity, message), the
    line and column made 0-based as the protocol counts them, severity 1 error, 2 warning."""
    result = CliRunner().invoke(main, ["validate", *map(str, paths)])
    found: dict[str, Expected] = {}
    for line in result.output.splitlines():
        match = LINE.match(line)
        if match:
            severity = 2 if match["warn"] else 1
            where = (int(match["line"]) - 1, int(match["col"]) - 1)
            found.setdefault(Path(match["file"]).name, []).append((*where, severity, match["msg"]))
    return found


def seen(diagnostics: list[dict[str, Any]]) -> Expected:
    return [
        (d["range"]["start"]["line"], d["range"]["start"]["character"], d["severity"], d["message"])
        for d in diagnostics
    ]


@pytest.fixture(scope="module")
def invalid_reports() -> dict[str, Expected]:
    return validate(ROOT / "tests" / "invalid")


def test_initialize_announces_full_document_sync(client: Client) -> None:
    """An editor learns it may send whole documents and is told when they are saved."""
    sync = client.capabilities["textDocumentSync"]
    assert sync["openClose"] is True
    assert sync["change"] == 1  # Full
    assert sync["save"] is True


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_diagnostics_are_validates(
    client: Client, invalid_reports: dict[str, Expected], path: Path
) -> None:
    """Each invalid fixture: the same problems as `fulfil validate`, same words, same places."""
    expected = invalid_reports[path.name]
    assert any(severity == 1 for *_, severity, _ in expected)
    uri = client.open(path)
    try:
        assert seen(client.diagnostics(uri)) == expected
    finally:
        client.close(uri)


def test_shipped_processes_give_validates_warnings_only(client: Client) -> None:
    """The shipped folder: every process, the people directory and the scenario files give
    exactly what `fulfil validate` gives (warnings; nothing for a scenario file)."""
    folder = ROOT / "processes"
    expected = validate(folder)
    for path in sorted(folder.glob("*.yaml")):
        uri = client.open(path)
        assert seen(client.diagnostics(uri)) == expected.get(path.name, []), path.name
        client.close(uri)


def test_diagnostics_follow_the_edits(client: Client, tmp_path: Path) -> None:
    """A misspelt `dest:` typed in is reported with its did-you-mean; fixed, it goes away."""
    path = tmp_path / "mini.yaml"
    good = (ROOT / "tests" / "invalid" / "misspelt_dest.yaml").read_text(encoding="utf-8")
    good = good.split("\n", 1)[1].replace("dest: dnoe", "dest: done")  # without `# expect:`
    assert "dnoe" not in good
    path.write_text(good, encoding="utf-8")
    uri = client.open(path)
    assert [d for d in client.diagnostics(uri, 1) if d["severity"] == 1] == []
    client.change(uri, good.replace("dest: done", "dest: dnoe"), 2)
    errors = [d for d in client.diagnostics(uri, 2) if d["severity"] == 1]
    assert [d["message"] for d in errors] == [
        "transition 'finish' goes to unknown state 'dnoe' (did you mean 'done'?)"
    ]
    line = good.splitlines().index("    dest: done")
    assert errors[0]["range"] == {
        "start": {"line": line, "character": 10},
        "end": {"line": line, "character": 14},
    }
    client.change(uri, good, 3)
    assert [d for d in client.diagnostics(uri, 3) if d["severity"] == 1] == []
    client.close(uri)


def test_people_directory_checked_against_its_folder(client: Client, tmp_path: Path) -> None:
    """people.yaml: checked on its own and against the processes beside it, as validate does."""
    shutil.copy(ROOT / "processes" / "facebook_access.yaml", tmp_path)
    people = (ROOT / "processes" / "people.yaml").read_text(encoding="utf-8")
    path = tmp_path / "people.yaml"
    path.write_text(people, encoding="utf-8")
    misspelt = people.replace("roles: [", "roles: [ops_specialst, ", 1)
    assert misspelt != people
    path.write_text(misspelt, encoding="utf-8")
    expected = validate(tmp_path)["people.yaml"]
    assert expected
    uri = client.open(path)
    assert seen(client.diagnostics(uri)) == expected
    client.close(uri)


def test_scenario_file_problems(client: Client, tmp_path: Path) -> None:
    """A scenario file is read as `fulfil test` reads it: an unknown key is reported."""
    source = ROOT / "processes" / "retention.scenarios.yaml"
    text = source.read_text(encoding="utf-8")
    path = tmp_path / source.name
    uri = client.open(path, text + "stray_key: 1\n")
    diagnostics = client.diagnostics(uri)
    assert [d["range"]["start"]["line"] for d in diagnostics] == [len(text.splitlines())]
    assert "stray_key" in diagnostics[0]["message"]
    client.close(uri)
