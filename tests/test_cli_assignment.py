"""`fulfil claim / assign / release` and `queue --mine` on the shipped processes and team, the
way the README's tour uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main

SHIPPED = Path(__file__).parents[1] / "processes"
DATA = json.dumps(
    {
        "client": "Acme Motors",
        "client_email": "owner@acme.example",
        "fr_number": "FR-1042",
        "account_manager": "alex@dealer.example",
        "csm": "casey@dealer.example",
    }
)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FULFIL_PEOPLE", raising=False)
    db = f"sqlite:///{tmp_path / 'tour.db'}"

    def invoke(*args: str, now: str = "2026-01-05T09:00:00Z") -> Result:
        base = ["--db", db, "--processes", str(SHIPPED), "--now", now]
        return CliRunner().invoke(main, [*base, *args])

    return invoke


def started(run) -> str:  # type: ignore[no-untyped-def]
    result = run("start", "facebook_access", "--as", "alex:account_manager", "--data", DATA)
    assert result.exit_code == 0, result.output
    instance = result.output.strip().splitlines()[-1]
    assert run("fire", instance, "begin", "--as", "sam:ops_specialist").exit_code == 0
    return instance


def test_the_tour_claim_queue_mine_and_the_reminder_to_the_assignee(run) -> None:  # type: ignore[no-untyped-def]
    """sam claims the task, sees it in `queue --mine`, and the weekly reminder reaches him."""
    instance = started(run)
    claimed = run("claim", instance, "--as", "sam", "--json")
    assert claimed.exit_code == 0, claimed.output
    assert json.loads(claimed.output)["assignee"] == "sam"
    assert "assignee: sam" in run("show", instance).output
    mine = json.loads(run("queue", "digms_ops", "--mine", "--as", "sam", "--json").output)
    assert [(i["id"], i["assignee"]) for i in mine["in_progress"]] == [(instance, "sam")]
    nina = json.loads(run("queue", "digms_ops", "--mine", "--as", "nina", "--json").output)
    assert nina == {"ready": [], "in_progress": [], "by_service": [], "incidents": []}
    call = run(
        "fire",
        instance,
        "log_call",
        "--as",
        "sam:ops_specialist",
        "--data",
        '{"outcome": "no_answer"}',
    )
    assert call.exit_code == 0, call.output
    assert run("tick", now="2026-01-12T09:00:00Z").exit_code == 0
    outbox = json.loads(run("outbox", "--json").output)
    [reminder] = [m for m in outbox if m["subject"].startswith("Call 2 due")]
    assert reminder["to"] == ["sam.lee@example.com"]
    history = json.loads(run("history", instance, "--json").output)
    [event] = [e for e in history if e["trigger"] == "claim"]
    assert event["actor"] == "sam"


def test_a_lead_assigns_and_a_specialist_releases(run) -> None:  # type: ignore[no-untyped-def]
    """lee (ops_lead) assigns nina; sam may not reassign; nina releases."""
    instance = started(run)
    refused = run("assign", instance, "nina", "--as", "sam")
    assert refused.exit_code == 1 and "may not assign" in refused.output
    assigned = run("assign", instance, "nina", "--as", "lee", "--json")
    assert assigned.exit_code == 0 and json.loads(assigned.output)["assignee"] == "nina"
    taken = run("claim", instance, "--as", "sam")
    assert taken.exit_code == 1 and "already assigned to nina" in taken.output
    released = run("release", instance, "--as", "nina", "--json")
    assert released.exit_code == 0 and json.loads(released.output)["assignee"] is None


@pytest.mark.parametrize(
    "args",
    [("claim", "X"), ("release", "X"), ("assign", "X", "nina"), ("queue", "--mine")],
)
def test_who_asks_must_be_said(run, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """claim, assign, release and queue --mine need --as PERSON: a usage error otherwise."""
    result = run(*args)
    assert result.exit_code == 2
    assert "--as PERSON" in result.output and "Traceback" not in result.output
