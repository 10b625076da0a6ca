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
