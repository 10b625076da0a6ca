"""Completion, hover, go-to-definition and the `fulfil check` findings of `fulfil lsp`, asked
over stdio as an editor asks them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from lsp_client import Client

ROOT = Path(__file__).resolve().parents[2]

PROCESS = """\
id: orders
version: 1
roles:
  clerk: {title: Clerk, description: Takes the orders}
  lead: {title: Lead}
fields:
  amount: {type: int, default: 0, description: What the order costs}
  note: {type: text}
calendars:
  office: {timezone: UTC, weekdays: [mon, tue, wed, thu, fri], hours: ["09:00", "17:00"]}
tasks:
  pack: {process: packing}
  ship: {process: packing, depends_on: [pack]}
states:
  open:
    initial: true
    description: Waiting for the clerk
    timers:
      - {after: 1d, calendar: office, trigger: approve}
  done: {terminal: true, status: Done}
transitions:
  - trigger: approve
    source: open
    dest: done
    guard: "amount > 10"
    roles: [clerk]
    actions:
      - append: {field: note, line: "approved at {amount}"}
"""


def position(text: str, marker: str, offset: int | None = None) -> dict[str, int]:
    """The 0-based position of `marker` in `text`, `offset` characters in (default: its end)."""
    index = text.index(marker) + (len(marker) if offset is None else offset)
    line = text.count("\n", 0, index)
    return {"line": line, "character": index - (text.rfind("\n", 0, index) + 1)}


@pytest.fixture(scope="module")
def orders(client: Client, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("orders")
    (folder / "packing.yaml").write_text("id: packing\nversion: 1\n", encoding="utf-8")
    path = folder / "orders.yaml"
    path.write_text(PROCESS, encoding="utf-8")
    uri = client.open(path)
    client.diagnostics(uri)
    return uri, PROCESS


def labels(client: Client, uri: str, where: dict[str, int]) -> list[str]:
    result = client.request(
        "textDocument/completion", {"textDocument": {"uri": uri}, "position": where}
    )
    return [item["label"] for item in result["items"]]


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("    dest: ", ["open", "done"]),
        ("    source: ", ["open", "done"]),
        ("    roles: [", ["clerk", "lead"]),
        ('    guard: "', ["amount", "note"]),
        ('    guard: "amount > 10', None),  # after a number: nothing expected
        ('line: "approved at {', ["amount", "note"]),
        ("{field: ", ["amount", "note"]),
        ("calendar: ", ["office"]),
        ("trigger: ", ["approve"]),
        ("depends_on: [", ["pack", "ship"]),
        ("  ship: {process: ", ["orders", "packing"]),
        ("id: ", None),
    ],
)
def test_completion_offers_the_names_expected_there(
    client: Client, orders: tuple[str, str], marker: str, expected: list[str] | None
) -> None:
    uri, text = orders
    assert labels(client, uri, position(text, marker)) == (expected or [])


def test_completion_while_typing_a_name_and_in_a_block_list(client: Client, tmp_path: Path) -> None:
    """Half a name typed in a document that no longer parses still completes, from the last
    names the document declared; a `- ` item of a block `roles:` list wants a role."""
    path = tmp_path / "orders.yaml"
    path.write_text(PROCESS, encoding="utf-8")
    uri = client.open(path)
    client.diagnostics(uri, 1)
    typing = PROCESS.replace("    dest: done\n", "    dest: do\n    roles: [clerk\n")
    typing = typing.replace("    roles: [clerk]\n", "    roles:\n      - \n")
    client.change(uri, typing, 2)
    errors = client.diagnostics(uri, 2)
    assert errors and errors[0]["severity"] == 1  # the YAML is broken: said so
    assert labels(client, uri, position(typing, "    dest: do")) == ["open", "done"]
    assert labels(client, uri, position(typing, "    roles:\n      - ")) == ["clerk", "lead"]
    client.close(uri)


def hover(client: Client, uri: str, where: dict[str, int]) -> Any:
    return client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": where})


def test_hover_shows_the_description_and_where_a_name_is_declared(
    client: Client, orders: tuple[str, str]
) -> None:
    uri, text = orders
    state = hover(client, uri, position(text, "    source: open", 13))
    assert state["contents"]["kind"] == "markdown"
    assert state["contents"]["value"] == (
        "**state** `open` — initial\n\nWaiting for the clerk\n\nDeclared at line 15, column 3."
    )
    start = position(text, "    source: open", 12)
    assert state["range"] == {"start": start, "end": {**start, "character": 16}}
    done = hover(client, uri, position(text, "    dest: done", 11))["contents"]["value"]
    assert done == "**state** `done` — terminal, status: Done\n\nDeclared at line 20, column 3."
    field = hover(client, uri, position(text, 'guard: "amount', 10))["contents"]["value"]
    assert field.startswith("**field** `amount` — int, default: 0\n\nWhat the order costs")
    assert field.endswith("Declared at line 7, column 3.")
    role = hover(client, uri, position(text, "roles: [clerk", 9))["contents"]["value"]
    assert "**role** `clerk` — title: Clerk" in role and "Takes the orders" in role
    assert hover(client, uri, position(text, "version: 1", 2)) is None


def definition(client: Client, uri: str, where: dict[str, int]) -> Any:
    return client.request(
        "textDocument/definition", {"textDocument": {"uri": uri}, "position": where}
    )


def test_definition_of_a_state_and_a_field(client: Client, orders: tuple[str, str]) -> None:
    uri, text = orders
    state = definition(client, uri, position(text, "    dest: done", 12))
    assert state == {
        "uri": uri,
        "range": {"start": {"line": 19, "character": 2}, "end": {"line": 19, "character": 6}},
    }
    field = definition(client, uri, position(text, "{amount}", 3))
    assert field["range"]["start"] == {"line": 6, "character": 2}
    assert definition(client, uri, position(text, "version: 1", 1)) is None


def test_saving_adds_fulfil_checks_findings_as_warnings(client: Client) -> None:
    """On save the process is model-checked as `fulfil check FILE` does; its findings join the
    diagnostics as warnings at the same places."""
    path = ROOT / "tests" / "processes" / "checking" / "overlap.yaml"
    output = CliRunner().invoke(main, ["check", str(path)]).output
    expected = [
        (kind, int(line) - 1, int(column) - 1)
        for kind, line, column in re.findall(r"^(\w+) \S+?:(\d+):(\d+): ", output, re.MULTILINE)
    ]
    assert expected == [("guard_overlap", 19, 4)]
    uri = client.open(path)
    assert client.diagnostics(uri, 1) == []
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert client.diagnostics(uri, 1) == []  # validate's, at once
    found = client.diagnostics(uri, 1)  # then with the check's
    assert [
        (d["code"], d["range"]["start"]["line"], d["range"]["start"]["character"]) for d in found
    ] == expected
    assert {(d["severity"], d["source"]) for d in found} == {(2, "fulfil check")}
    assert "attempt=2" in found[0]["message"]
    client.close(uri)
