"""The CLI's shape: global options in either position, -h, helpful help, unknown queues, pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main
from fulfil.engine.commands.options import GLOBAL_OPTIONS, shipped_processes

PROCESSES = Path(__file__).parent / "runtime" / "processes"
CLIENT = '{"client": "Acme Motors", "client_email": "owner@acme.test"}'
OPS = ["--as", "sam:ops_specialist"]
NOW = "2026-03-02T09:00:00Z"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for option in GLOBAL_OPTIONS:
        monkeypatch.delenv(option.envvar, raising=False)
    return f"sqlite:///{tmp_path / 'cli.db'}"


def every_command(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths += every_command(command, (*prefix, name))
    return paths


def test_global_options_work_after_the_command(db: str) -> None:
    """`fulfil start X --db URL --processes DIR --now T` is the same as with them in front."""
    after = ["--db", db, "--processes", str(PROCESSES), "--now", NOW]
    started = invoke("start", "access", "--data", CLIENT, *after)
    assert started.exit_code == 0, started.output
    instance = started.stdout.strip()
    assert invoke("fire", instance, "begin", *OPS, *after).exit_code == 0
    front = invoke("--db", db, "--processes", str(PROCESSES), "show", instance, "--json")
    shown = json.loads(front.stdout)
    assert shown["state"] == "in_progress"
    assert shown["created_at"].startswith("2026-03-02T09:00:00")


def test_an_option_after_the_command_wins_over_one_before(db: str, tmp_path: Path) -> None:
    """Given in both places, the value nearer the command's arguments is the one used."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    base = ["--processes", str(PROCESSES), "--now", NOW]
    result = invoke("--db", other, *base, "start", "access", "--data", CLIENT, "--db", db)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.db").is_file() and not (tmp_path / "other.db").exists()


def test_environment_is_read_and_an_option_after_the_command_overrides_it(
    db: str, tmp_path: Path
) -> None:
    """FULFIL_DB and friends apply to every command; an option given after the command wins."""
    env = {"FULFIL_DB": db, "FULFIL_PROCESSES": str(PROCESSES), "FULFIL_NOW": NOW}
    assert invoke("start", "access", "--data", CLIENT, env=env).exit_code == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    moved = invoke("start", "access", "--data", CLIENT, "--db", other, env=env)
    assert moved.exit_code == 0 and moved.stdout.strip() == "access-1"
    assert invoke("show", "access-1", env=env).exit_code == 0


def test_db_upgrade_takes_db_after_the_subcommand(db: str, tmp_path: Path) -> None:
    """A nested command (`fulfil db upgrade --db URL`) takes the global options as well."""
    result = invoke("db", "upgrade", "--db", db)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.db").is_file()


def test_commands_keep_their_own_option_of_a_global_name(db: str) -> None:
    """`fulfil test --db` stays the scenario store (memory|sqlite), not a database URL."""
    scenarios = str(Path(__file__).parent / "processes" / "scenarios" / "ticket.scenarios.yaml")
    assert invoke("test", scenarios, "--db", "sqlite").exit_code == 0
    refused = invoke("test", scenarios, "--db", db)
    assert refused.exit_code == 2 and "'memory', 'sqlite'" in refused.stderr


@pytest.mark.parametrize("path", every_command())
def test_every_command_takes_dash_h_and_shows_an_example(path: tuple[str, ...]) -> None:
    """`-h` is `--help`; each command's help ends with an example and names the env variables."""
    result = invoke(*path, "-h")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: fulfil {' '.join(path)} ")
    assert "Example:\n    fulfil " in result.stdout or "Example:\n    FULFIL_" in result.stdout
    words = " ".join(result.stdout.split())
    for option in GLOBAL_OPTIONS:
        assert f"{option.flag} " in words  # the global one, or the command's own of that name
    assert "[env var: FULFIL_NOW]" in words


def test_the_main_help_lists_the_environment_and_an_example() -> None:
    """`fulfil -h` names every environment variable fulfil reads and shows an example."""
    result = invoke("-h")
    assert result.exit_code == 0
    for name in ("FULFIL_DB", "FULFIL_PROCESSES", "FULFIL_NOW", "FULFIL_SHEETS"):
        assert name in result.stdout
    for name in ("FULFIL_SMTP_HOST", "FULFIL_SMTP_PASSWORD", "FULFIL_OUTBOX_FILE"):
        assert name in result.stdout
    assert "Example:" in result.stdout and "before or after the command" in result.stdout


def test_an_unknown_queue_is_an_error_listing_the_queues(db: str) -> None:
    """`fulfil queue no_such_queue` exits 1 naming the known queues, not empty tables."""
    result = invoke("--db", db, "--processes", str(PROCESSES), "queue", "no_such_queue")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no queue 'no_such_queue'; the processes' queues: ops" in result.stderr
    assert invoke("--db", db, "--processes", str(PROCESSES), "queue", "ops").exit_code == 0


def test_outbox_deliver_prints_the_messages_it_marks_sent(db: str) -> None:
    """Without SMTP or FULFIL_OUTBOX_FILE, --deliver prints each body (as `worker --once`)."""
    base = ["--db", db, "--processes", str(PROCESSES), "--now", NOW]
    env = {"FULFIL_SMTP_HOST": "", "FULFIL_OUTBOX_FILE": ""}
    instance = invoke(*base, "start", "access", "--data", CLIENT).stdout.strip()
    invoke(*base, "fire", instance, "begin", *OPS)
    invoke(*base, "fire", instance, "log_call", "--data", '{"outcome": "no_answer"}', *OPS)
    [pending] = json.loads(invoke(*base, "outbox", "--json").stdout)
    assert pending["body"].strip()
    result = invoke(*base, "outbox", "--deliver", env=env)
    assert result.exit_code == 0, result.output
    assert pending["body"].strip() in result.stdout
    assert f"subject: {pending['subject']}" in result.stdout
    assert "[sent]" in result.stdout


def test_outbox_deliver_json_keeps_stdout_parseable(db: str) -> None:
    """With --json the delivered messages are printed on stderr and stdout is one JSON list."""
    base = ["--db", db, "--processes", str(PROCESSES), "--now", NOW]
    env = {"FULFIL_SMTP_HOST": "", "FULFIL_OUTBOX_FILE": ""}
    instance = invoke(*base, "start", "access", "--data", CLIENT).stdout.strip()
    invoke(*base, "fire", instance, "begin", *OPS)
    invoke(*base, "fire", instance, "log_call", "--data", '{"outcome": "no_answer"}', *OPS)
    result = invoke(*base, "outbox", "--deliver", "--json", env=env)
    [sent] = json.loads(result.stdout)
    assert sent["status"] == "sent"
    assert sent["body"].strip() in result.stderr


def test_the_shipped_processes_are_used_when_there_is_no_processes_folder(db: str) -> None:
    """Without ./processes and FULFIL_PROCESSES, commands use the processes fulfil ships."""
    validated = invoke("validate")
    assert validated.exit_code == 0, validated.output
    assert "facebook_access.yaml" in validated.stdout
    assert f"processes shipped with fulfil are used ({shipped_processes()})" in validated.stderr
    started = invoke("--db", db, "start", "facebook_access", "--data", "{}", "--as", "alex")
    assert "error: " in started.stderr and "client" in started.stderr  # reached the definition
    assert "note:" not in started.stderr  # runtime commands use them quietly


def test_a_missing_processes_folder_that_was_asked_for_is_an_error(db: str) -> None:
    """Given explicitly, a folder that does not exist is reported, never silently replaced."""
    result = invoke("--processes", "nowhere", "validate")
    assert result.exit_code != 0
    assert "nowhere" in result.stderr and "shipped" not in result.stderr


def run_with_closed_stdout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout a pipe whose reader is already gone (`... | head` after exit)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "fulfil.cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


def test_a_closed_pipe_ends_quietly(db: str) -> None:
    """`fulfil history ID | head`: no 'Broken pipe' message, exit 141 like a tool killed by it."""
    env = {**os.environ, "FULFIL_DB": db, "FULFIL_PROCESSES": str(PROCESSES), "FULFIL_NOW": NOW}
    instance = invoke("start", "access", "--data", CLIENT, env=env).stdout.strip()
    for command in (["history", instance], ["show", instance, "--json"], ["queue"]):
        done = run_with_closed_stdout(*command, env=env)
        assert done.stderr == "", (command, done.stderr)
        assert done.returncode in (0, 141), (command, done.returncode)
