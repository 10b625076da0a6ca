"""The CLI with and without a people directory: `--as PERSON[:ROLE]`, `--people`,
`FULFIL_PEOPLE`, and the open-mode note of `show` and `history`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main
from fulfil.engine.commands.common import OPEN_MODE_NOTE

ROOT = Path(__file__).resolve().parents[2]
ACME = json.dumps(
    {
        "client": "Acme Motors",
        "client_email": "acme@example.com",
        "fr_number": "FR-1001",
        "account_manager": "alex.romero@example.com",
        "csm": "casey.nguyen@example.com",
    }
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped processes with their people.yaml."""
    target = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", target, ignore=shutil.ignore_patterns("*.scenarios.yaml"))
    return target


def _run(folder: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    base = ["--db", f"sqlite:///{folder.parent / 'f.db'}", "--processes", str(folder)]
    base += ["--now", "2026-01-05T09:00:00Z"]
    return CliRunner().invoke(main, [*base, *args], env=env or {})


def test_as_a_person_says_which_role_it_used(folder: Path) -> None:
    """`--as sam` starts and fires in sam's role and says so on stderr; history shows it."""
    started = _run(folder, "start", "facebook_access", "--data", ACME, "--as", "sam")
    assert started.exit_code == 0, started.output
    assert started.stdout.strip() == "facebook_access-1"
    assert "acting as sam in role ops_specialist" in started.stderr
    fired = _run(folder, "fire", "facebook_access-1", "begin", "--as", "sam")
    assert fired.exit_code == 0 and "acting as sam in role ops_specialist" in fired.stderr
    history = json.loads(_run(folder, "history", "facebook_access-1", "--json").stdout)
    assert [(e["actor"], e["role"]) for e in history] == [("sam", "ops_specialist")] * 2
    shown = _run(folder, "show", "facebook_access-1")
    assert OPEN_MODE_NOTE not in shown.stdout


def test_refusals_name_the_person_and_exit_non_zero(folder: Path) -> None:
    """Unknown, inactive and role-less callers get one line on stderr and exit 1."""
    _run(folder, "start", "facebook_access", "--data", ACME, "--as", "sam")
    for who, message in [
        ("sma", "unknown person 'sma' (did you mean 'sam'?)"),
        ("riley", "person 'riley' is inactive"),
        ("sam:csm", "'sam' does not hold role 'csm'"),
    ]:
        result = _run(folder, "fire", "facebook_access-1", "begin", "--as", who)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ") and message in result.stderr
        assert "Traceback" not in result.output
    result = _run(folder, "fire", "facebook_access-1", "begin")
    assert result.exit_code == 1 and "--as PERSON" in result.stderr
    history = json.loads(_run(folder, "history", "facebook_access-1", "--json").stdout)
    assert [(e["kind"], e["actor"]) for e in history[1:]] == [
        ("refused", "sma"),
        ("refused", "riley"),
        ("refused", "sam"),
        ("refused", "anonymous"),
    ]


def test_open_mode_without_a_people_file_says_so(folder: Path) -> None:
    """Without people.yaml, `--as ACTOR:ROLE` is believed and show/history say that
    identities were not verified."""
    (folder / "people.yaml").unlink()
    started = _run(folder, "start", "facebook_access", "--data", ACME, "--as", "x:ops_specialist")
    assert started.exit_code == 0, started.output
    assert OPEN_MODE_NOTE in _run(folder, "show", "facebook_access-1").stdout
    assert OPEN_MODE_NOTE in _run(folder, "history", "facebook_access-1").stdout


def test_people_option_and_environment_name_another_directory(folder: Path) -> None:
    """--people FILE and FULFIL_PEOPLE choose the directory; a broken one is a located error."""
    other = folder.parent / "team.yaml"
    (folder / "people.yaml").rename(other)
    assert (
        _run(
            folder,
            "--people",
            str(other),
            "start",
            "facebook_access",
            "--data",
            ACME,
            "--as",
            "nina",
        ).exit_code
        == 0
    )
    env = {"FULFIL_PEOPLE": str(other)}
    result = _run(folder, "fire", "facebook_access-1", "begin", "--as", "riley", env=env)
    assert result.exit_code == 1 and "inactive" in result.stderr
    other.write_text(other.read_text().replace("manager: lee\n", "manager: leo\n", 1))
    result = _run(folder, "start", "facebook_access", "--data", ACME, "--as", "sam", env=env)
    assert result.exit_code == 1
    assert f"{other}:" in result.stderr and "manager 'leo' of 'sam'" in result.stderr
    result = _run(folder, "--people", str(folder / "nope.yaml"), "show", "facebook_access-1")
    assert result.exit_code == 1 and "no such people file" in result.stderr
