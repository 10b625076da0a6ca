"""`fulfil list` and the interventions on the shipped processes and team, as the README shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main

SHIPPED = Path(__file__).parents[2] / "processes"


def data(client: str) -> str:
    return json.dumps(
        {"client": client, "client_email": "owner@acme.example", "fr_number": "FR-1042"}
    )


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FULFIL_PEOPLE", raising=False)
    db = f"sqlite:///{tmp_path / 'ops.db'}"

    def invoke(*args: str, now: str = "2026-01-05T09:00:00Z") -> Result:
        base = ["--db", db, "--processes", str(SHIPPED), "--now", now]
        return CliRunner().invoke(main, [*base, *args])

    return invoke


def start(run, client: str) -> str:  # type: ignore[no-untyped-def]
    result = run("start", "facebook_access", "--as", "sam", "--data", data(client))
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def test_list_json_is_the_contract_and_where_filters(run) -> None:  # type: ignore[no-untyped-def]
    acme, bolt = start(run, "Acme Motors"), start(run, "Bolt Cars")
    out = run("list", "--json")
    assert out.exit_code == 0, out.output
    page = json.loads(out.output)
    assert set(page) == {"items", "next"} and page["next"] is None
    assert [i["id"] for i in page["items"]] == [bolt, acme]
    assert {"id", "state", "status", "closure_reason", "assignee"} <= set(page["items"][0])
    where = run(
        "list", "--process", "facebook_access", "--where", 'client == "Acme Motors"', "--json"
    )
    assert [i["id"] for i in json.loads(where.output)["items"]] == [acme]
    text = run("list", "--open", "--limit", "1")
    assert bolt in text.output and "--cursor" in text.output
    assert run("list", "--closed").output.strip() == "no instances match"


def test_list_refuses_bad_input_in_one_line(run) -> None:  # type: ignore[no-untyped-def]
    start(run, "Acme Motors")
    bad = run("list", "--process", "facebook_access", "--where", 'clint == "x"')
    assert bad.exit_code != 0 and "did you mean 'client'" in bad.output
    assert "Traceback" not in bad.output
    assert run("list", "--started-after", "yesterday").exit_code == 2
    assert run("list", "--version", "1").exit_code == 2


def test_interventions_by_a_lead_audited_and_verified(run) -> None:  # type: ignore[no-untyped-def]
    acme, bolt, cars = start(run, "Acme Motors"), start(run, "Bolt Cars"), start(run, "Cars")
    no_reason = run("cancel", acme, "--as", "lee")
    assert no_reason.exit_code == 2 and "needs a reason" in no_reason.output
    refused = run("cancel", acme, "--as", "sam", "--reason", "mine")
    assert refused.exit_code == 1 and "needs role operator, ops_lead" in refused.output
    out = run("cancel", acme, "--as", "lee", "--reason", "duplicate", "--json")
    assert out.exit_code == 0, out.output
    view = json.loads(out.output)
    assert (view["status"], view["closure_reason"], view["triggers"], view["timers"]) == (
        "Closed",
        "Cancelled",
        [],
        [],
    )
    fixed = run("set", bolt, "--data", '{"client_email": "x@y.example"}', "--reason", "typo",
                "--as", "morgan", "--json")  # fmt: skip
    assert json.loads(fixed.output)["data"]["client_email"] == "x@y.example", fixed.output
    bad = run("set", bolt, "--data", '{"attempt": "lots"}', "--reason", "r", "--as", "morgan")
    assert bad.exit_code == 1 and "must be" in bad.output
    moved = run("move", bolt, "in_progress", "--reason", "began by phone", "--as", "lee")
    assert moved.exit_code == 0 and "in_progress" in moved.output
    nowhere = run("move", bolt, "limbo", "--reason", "r", "--as", "lee")
    assert nowhere.exit_code == 2 and "has no state 'limbo'" in nowhere.output
    dry = run("cancel", "--process", "facebook_access", "--open", "--reason", "client left",
              "--as", "lee", "--dry-run")  # fmt: skip
    assert f"would cancel {bolt}" in dry.output and f"would cancel {cars}" in dry.output
    assert "would change 2, refused 0" in dry.output
    assert json.loads(run("show", cars, "--json").output)["state"] == "new"
    both = run("cancel", cars, "--process", "facebook_access", "--reason", "r", "--as", "lee")
    assert both.exit_code == 2
    history = json.loads(run("history", bolt, "--json").output)
    assert [e["trigger"] for e in history][-2:] == ["set", "move"]
    verified = run("verify", "--all")
    assert verified.exit_code == 0 and "ok" in verified.output


def test_list_text_finds_a_value_anywhere(run) -> None:  # type: ignore[no-untyped-def]
    """--text matches the id or any field's value, whatever its case, with no process named."""
    acme, bolt = start(run, "Acme Motors"), start(run, "Bolt Cars")
    found = run("list", "--text", "bolt cars", "--json")
    assert found.exit_code == 0, found.output
    assert [i["id"] for i in json.loads(found.output)["items"]] == [bolt]
    by_id = run("list", "--text", acme, "--json")
    assert [i["id"] for i in json.loads(by_id.output)["items"]] == [acme]
    assert run("list", "--text", "FR-9999").output.strip() == "no instances match"
