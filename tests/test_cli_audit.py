"""The audit trail through the CLI: keys from the environment or a file, verify --all,
checkpoints exported and compared, and every key mistake a one-line message."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main

PROCESSES = Path(__file__).parent / "runtime" / "processes"
CLIENT = '{"client": "Acme Motors", "client_email": "owner@acme.test"}'
OPS = ["--as", "sam:ops_specialist"]
KEY = "k1:0123456789abcdef0123"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FULFIL_AUDIT_KEY", raising=False)
    monkeypatch.delenv("FULFIL_AUDIT_KEY_FILE", raising=False)
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, key: str | None = KEY) -> Result:
        base = ["--db", db, "--processes", str(PROCESSES), "--now", "2026-03-02T09:00:00Z"]
        env = {"FULFIL_AUDIT_KEY": key} if key is not None else {}
        return CliRunner().invoke(main, [*base, *args], env=env)

    return invoke


def started(run, key: str | None = KEY) -> str:  # type: ignore[no-untyped-def]
    result = run("start", "access", "--data", CLIENT, key=key)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def sql(tmp_path: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute(statement, params)


def test_verify_all_reports_keyed_and_counts(run) -> None:  # type: ignore[no-untyped-def]
    """A keyed store verifies whole: the summary names the key and counts the events."""
    instance = started(run)
    assert run("fire", instance, "begin", *OPS).exit_code == 0
    result = run("verify", "--all")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "verified 1 instance(s), 2 event(s), keyed (k1): ok"
    report = json.loads(run("verify", "--json").stdout)
    assert report["ok"] and report["keyed"] and report["keys"] == ["k1"] and report["events"] == 2


def test_without_a_key_verify_says_the_chain_is_unkeyed(run) -> None:  # type: ignore[no-untyped-def]
    """Open mode works, and verify says plainly what an unkeyed chain is worth."""
    started(run, key=None)
    result = run("verify", key=None)
    assert result.exit_code == 0
    assert "note: unkeyed chain (SHA-256): it detects accidents, not a forger" in result.stdout
    assert result.stdout.strip().endswith("unkeyed: ok")


def test_a_deleted_instance_is_named_by_verify_all(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An instance deleted with every event, then more work: verify --all names it, exit 1."""
    gone = started(run)
    started(run)
    sql(tmp_path, "DELETE FROM events WHERE instance = ?", gone)
    sql(tmp_path, "DELETE FROM instances WHERE id = ?", gone)
    result = run("verify", "--all")
    assert result.exit_code == 1
    assert f"{gone} event 1: instance deleted: lane 0 position 1 missing" in result.stderr
    assert "MISMATCH" in result.stdout and "Traceback" not in result.output


def test_a_checkpoint_catches_a_truncated_database(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--export-checkpoint writes a signed file; after the last instance is deleted and the
    lane rolled back (verify alone: ok), --against names the instance."""
    first = started(run)
    last = started(run)
    exported = run("verify", "--export-checkpoint", "cp.json")
    assert exported.exit_code == 0, exported.output
    assert "wrote checkpoint cp.json: 2 instance(s), 2 event(s), signed with key 'k1'" in (
        exported.stdout
    )
    assert json.loads((tmp_path / "cp.json").read_text())["key"] == "k1"
    sql(tmp_path, "DELETE FROM events WHERE instance = ?", last)
    sql(tmp_path, "DELETE FROM instances WHERE id = ?", last)
    sql(tmp_path, "UPDATE audit_lanes SET pos = 1, instance = ?, seq = 1", first)
    assert run("verify", "--all").exit_code == 0
    result = run("verify", "--against", "cp.json")
    assert result.exit_code == 1
    assert f"{last} event 1: instance deleted since the checkpoint" in result.stderr


def test_no_checkpoint_is_written_for_a_store_that_does_not_verify(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Exporting from a tampered store refuses, names the problem, writes nothing."""
    instance = started(run)
    sql(tmp_path, "UPDATE events SET actor = 'mallory' WHERE instance = ?", instance)
    result = run("verify", "--export-checkpoint", "cp.json")
    assert result.exit_code == 1
    assert f"{instance} event 1: its content does not match its MAC under key 'k1'" in (
        result.stderr
    )
    assert "no checkpoint written to cp.json" in result.stderr
    assert not (tmp_path / "cp.json").exists()


def test_key_mistakes_are_one_line_messages(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Missing key on a keyed store, a wrong key, a short key, ID with --all: no traceback."""
    instance = started(run)
    missing = run("fire", instance, "begin", *OPS, key=None)
    assert missing.exit_code == 2
    assert "sealed with the audit key 'k1'; give the audit keys" in missing.stderr
    wrong = run("verify", key="k1:another secret entirely")
    assert wrong.exit_code == 1
    assert "matches none of the" not in wrong.stderr  # one event: reported at the event
    assert f"{instance} event 1: its content does not match its MAC" in wrong.stderr
    short = run("verify", key="k1:short")
    assert short.exit_code == 2 and "use at least 16" in short.stderr
    both = run("verify", instance, "--all")
    assert both.exit_code == 2 and "not both" in both.stderr
    for result in (missing, wrong, short, both):
        assert "Traceback" not in result.output


def test_a_key_file_rotates_keys(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--audit-key-file: the first line seals; old events still verify with the old id."""
    instance = started(run)
    keys = tmp_path / "audit.keys"
    keys.write_text("k2 fedcba9876543210fedcba\nk1 0123456789abcdef0123\n")
    fired = run("--audit-key-file", str(keys), "fire", instance, "begin", *OPS, key=None)
    assert fired.exit_code == 0, fired.output
    result = run("--audit-key-file", str(keys), "verify", key=None)
    assert result.exit_code == 0 and "keyed (k2, k1): ok" in result.stdout
    history = json.loads(run("history", instance, "--json").stdout)
    assert len(history) == 2


def test_verify_full_replays_again_and_a_row_edit_is_found_either_way(  # type: ignore[no-untyped-def]
    run, tmp_path: Path
) -> None:
    """verify marks what it checked; --full replays every instance again, same output; an
    instance row edited after the mark is found without --full; --full takes no ID."""
    instance = started(run)
    assert run("fire", instance, "begin", *OPS).exit_code == 0
    first = run("verify")
    assert first.exit_code == 0 and first.stdout == run("verify", "--full").stdout
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        assert conn.execute("SELECT instance, seq FROM verify_marks").fetchall() == [(instance, 2)]
    sql(tmp_path, "UPDATE instances SET state = 'closed' WHERE id = ?", instance)
    result = run("verify")
    assert result.exit_code == 1
    assert f"{instance}: stored state 'closed', replay gives" in result.stderr
    both = run("verify", instance, "--full")
    assert both.exit_code == 2 and "not both" in both.stderr
