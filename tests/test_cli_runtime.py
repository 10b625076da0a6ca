"""The runtime commands of the CLI, driven with CliRunner on a temporary SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main

PROCESSES = Path(__file__).parent / "runtime" / "processes"
CLIENT = '{"client": "Acme Motors", "client_email": "owner@acme.test"}'
OPS = ["--as", "sam:ops_specialist"]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'cli.db'}"

    def invoke(*args: str, now: str = "2026-03-02T09:00:00Z") -> Result:
        base = ["--db", db, "--processes", str(PROCESSES), "--now", now]
        return CliRunner().invoke(main, [*base, *args])

    return invoke


def started(run) -> str:  # type: ignore[no-untyped-def]
    result = run("start", "access", "--data", CLIENT)
    assert result.exit_code == 0, result.output
    instance = result.output.strip()
    assert run("fire", instance, "begin", *OPS).exit_code == 0
    return instance


def test_full_flow(run) -> None:  # type: ignore[no-untyped-def]
    """start prints the id; fire/show/history/outbox/queue/tick/verify work end to end."""
    instance = started(run)
    assert instance == "access-1"
    fired = run("fire", instance, "log_call", "--data", '{"outcome": "no_answer"}', *OPS, "--json")
    assert fired.exit_code == 0 and json.loads(fired.output)["data"]["attempt"] == 1
    shown = json.loads(run("show", instance, "--json").output)
    assert shown["state"] == "in_progress" and shown["status"] == "In Progress"
    history = json.loads(run("history", instance, "--json").output)
    assert [e["trigger"] for e in history[:3]] == [None, "begin", "log_call"]
    for key in ("seq", "at", "actor", "role", "trigger", "source", "dest", "data"):
        assert key in history[2]
    assert history[2]["actor"] == "sam" and history[2]["role"] == "ops_specialist"
    outbox = json.loads(run("outbox", "--json").output)
    assert [(m["instance"], m["to"], m["subject"]) for m in outbox] == [
        (instance, ["owner@acme.test"], "Email 1 for Acme Motors")
    ]
    for key in ("id", "instance", "channel", "to", "cc", "subject", "body", "created_at"):
        assert key in outbox[0]
    queue = json.loads(run("queue", "ops", "--json").output)
    assert [i["id"] for i in queue["in_progress"]] == [instance] and queue["ready"] == []
    ticked = run("tick", now="2026-03-09T10:00:00Z")
    assert ticked.exit_code == 0 and "fired 1 timer(s)" in ticked.output
    assert run("verify").exit_code == 0
    later = "2026-03-09T11:00:00Z"
    assert "Closed" in run("fire", instance, "access_obtained", *OPS, now=later).output
    assert (Path("sheets") / "calls.csv").is_file()


def test_tick_batch_option(run) -> None:  # type: ignore[no-untyped-def]
    """`tick --batch N` fires as `tick` does; 0 is refused; the help says the engine's default."""
    from fulfil.cli import TICK_BATCH_HELP
    from fulfil.engine.runtime.ticking import TICK_BATCH

    started(run)
    ticked = run("tick", "--batch", "1", now="2026-03-09T10:00:00Z")
    assert ticked.exit_code == 0 and "fired 1 timer(s)" in ticked.output
    refused = run("tick", "--batch", "0")
    assert refused.exit_code != 0 and "--batch" in refused.output
    assert f"[default: {TICK_BATCH}]" in TICK_BATCH_HELP
    assert run("worker", "--once", "--tick-batch", "3").exit_code == 0


def test_show_json_keys(run) -> None:  # type: ignore[no-untyped-def]
    """show --json carries every key of the contract."""
    instance = started(run)
    shown = json.loads(run("show", instance, "--json").output)
    assert set(shown) >= {
        "id",
        "process",
        "version",
        "state",
        "status",
        "closure_reason",
        "data",
        "triggers",
        "timers",
        "parent",
        "children",
        "created_at",
        "updated_at",
    }
    assert shown["timers"] == [
        {"name": "next_call_due", "trigger": "remind", "due_at": "2026-03-09T09:00:00+00:00"}
    ]


def shown_without_rev(run, instance: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    shown = json.loads(run("show", instance, "--json").output)
    shown.pop("rev")
    return shown  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["fire", "access-1", "begin", *OPS], 1, "allowed now: log_call"),
        (["fire", "access-1", "log_call", "--data", '{"outcome": "reached"}', *OPS], 1, "guard"),
        (
            ["fire", "access-1", "log_call", "--data", '{"outcome": "busy"}', *OPS],
            1,
            "allowed values",
        ),
        (
            ["fire", "access-1", "access_not_obtained", *OPS],
            1,
            "requires field 'actions_taken' to be set: give it in --data, "
            """e.g. --data '{"actions_taken": "..."}'""",
        ),
        (
            ["fire", "access-1", "access_obtained", "--as", "ann:account_manager"],
            1,
            "allowed: ops_specialist",
        ),
        (
            ["fire", "access-1", "access_obtained", "--as", "ann"],
            1,
            "may only be fired by role ops_specialist; name the role you act in with "
            "--as ACTOR:ROLE, e.g. --as you:ops_specialist",
        ),
        (["fire", "access-1", "log_call", "--data", "{oops", *OPS], 2, "--data is not JSON"),
        (["fire", "access-1", "log_call", "--data", "[1]", *OPS], 2, "must be a JSON object"),
        (
            [
                "fire",
                "access-1",
                "log_call",
                "--data",
                '{"outcome": "reached", "outcome": 1}',
                *OPS,
            ],
            2,
            "the data gives 'outcome' twice: give each field once",
        ),
        (["fire", "access-1", "log_call", "--as", "sam:"], 2, "--as takes PERSON or PERSON:ROLE"),
        (["fire", "ghost", "begin", *OPS], 1, "no instance 'ghost'"),
        (["show", "ghost"], 1, "no instance 'ghost'"),
        (["start", "acess", "--data", CLIENT], 1, "did you mean 'access'"),
    ],
)
def test_refusals(run, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    """Each refusal exits non-zero with a one-line message on stderr and stores no change."""
    instance = started(run)
    before = shown_without_rev(run, instance)
    events = len(json.loads(run("history", instance, "--json").output))
    result = run(*args)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output
    assert shown_without_rev(run, instance) == before  # a role refusal bumps only the rev
    refused_role = args[-1].startswith("ann")
    after = len(json.loads(run("history", instance, "--json").output))
    assert after == events + (1 if refused_role else 0)


def test_verify_reports_tampering(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """verify exits 1 and names the event when a stored event was edited."""
    import sqlite3

    instance = started(run)
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute(
            "UPDATE events SET actor = 'mallory' WHERE instance = ? AND seq = 2", (instance,)
        )
    result = run("verify", instance)
    assert result.exit_code == 1
    assert f"{instance} event 2: its content does not match its hash" in result.stderr


def test_sheets_folder_is_configurable(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """--sheets puts the CSV sheets in the folder given, not ./sheets."""
    instance = started(run)
    folder = tmp_path / "trackers"
    call = '{"outcome": "no_answer"}'
    logged = run("--sheets", str(folder), "fire", instance, "log_call", "--data", call, *OPS)
    assert logged.exit_code == 0, logged.output
    assert (folder / "calls.csv").is_file() and not Path("sheets").exists()


def test_a_timer_scheduled_in_the_past_is_announced(run) -> None:  # type: ignore[no-untyped-def]
    """A step whose `at` timer is already past warns on stderr that the next tick fires it."""
    data = '{"client": "Acme", "client_email": "o@acme.test", "effective_date": "2026-03-05"}'
    result = run("start", "access", "--data", data)
    assert result.exit_code == 0
    began = run("fire", result.output.strip(), "begin", *OPS)
    assert began.exit_code == 0
    assert "warning: timer 'effective' of access-1 was due at 2026-02-19" in began.stderr
    assert "the next `fulfil tick` fires it" in began.stderr
