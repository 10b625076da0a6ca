"""Migration of running facebook_access instances from v1 to a v2 (a renamed state, a renamed
timer, a new field with a default): dry run per instance, the run, verify across versions,
bad maps refused with nothing changed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import UsageError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import Store

SHIPPED = Path(__file__).parents[2] / "processes" / "facebook_access.yaml"
OPS = {"actor": "sam", "role": "ops_specialist"}
DATA = {"client": "Acme", "client_email": "owner@acme.example", "fr_number": "FR-1"}


def version_2(text: str) -> str:
    """v2: `escalated` is `awaiting_cancellation`, the timer `next_call_due` is `call_due`, and
    a new field `region` defaults to EU."""
    text = re.sub(r"^version: 1$", "version: 2", text, flags=re.M)
    text = re.sub(r"\bescalated\b", "awaiting_cancellation", text)
    text = text.replace("- name: next_call_due", "- name: call_due")
    return text.replace("\nfields:\n", '\nfields:\n  region: {type: string, default: "EU"}\n', 1)


def folder_with(tmp_path: Path, *, v2: bool) -> Path:
    folder = tmp_path / ("v2" if v2 else "v1")
    folder.mkdir(exist_ok=True)
    text = SHIPPED.read_text()
    (folder / "facebook_access.yaml").write_text(text)
    if v2:
        (folder / "facebook_access_v2.yaml").write_text(version_2(text))
    return folder


def engine_on(folder: Path, store: Store, clock: ManualClock) -> Engine:
    return Engine(load_directory(folder), store=store, clock=clock, sheets_dir=folder / "sheets")


def one_in_every_state(engine: Engine) -> dict[str, str]:
    ids = {}
    for state in ("new", "in_progress", "waiting_next_call", "escalated", "closed", "on_hold"):
        view = engine.start("facebook_access", DATA, **OPS)
        if state != "new":
            engine.fire(view.id, "begin", **OPS)
        if state in ("waiting_next_call", "escalated"):
            while engine.show(view.id).state != state:
                engine.fire(view.id, "log_call", {"outcome": "no_answer"}, **OPS)
        if state == "closed":
            engine.fire(view.id, "access_obtained", **OPS)
        if state == "on_hold":
            engine.fire(view.id, "access_not_obtained", {"actions_taken": "called"}, **OPS)
        assert engine.show(view.id).state == state
        ids[state] = view.id
    return ids


def test_dry_run_then_run_with_a_map(store: Store, clock: ManualClock, tmp_path: Path) -> None:
    ids = one_in_every_state(engine_on(folder_with(tmp_path, v2=False), store, clock))
    engine = engine_on(folder_with(tmp_path, v2=True), store, clock)
    histories = {i: engine.history(i) for i in ids.values()}
    plan = {item.instance: item for item in engine.migrate("facebook_access", 2, dry_run=True)}
    assert set(plan) == {ids[s] for s in ("new", "in_progress", "waiting_next_call", "escalated")}
    assert plan[ids["new"]].can_move and plan[ids["in_progress"]].can_move
    assert plan[ids["new"]].changes == {"version": [1, 2], "data": {"region": [None, "EU"]}}
    assert "pending timer 'next_call_due'" in plan[ids["waiting_next_call"]].reason
    assert "state 'escalated' is not in version 2" in plan[ids["escalated"]].reason
    assert "--map escalated=STATE" in plan[ids["escalated"]].reason
    assert {i: engine.history(i) for i in ids.values()} == histories  # nothing written
    assert all(engine.show(i).version == 1 for i in ids.values())

    with pytest.raises(UsageError, match=r"no version being migrated has a state 'escalatd'"):
        engine.migrate("facebook_access", 2, mapping={"escalatd": "awaiting_cancellation"})
    with pytest.raises(UsageError, match=r"version 2 of facebook_access has no state 'limbo'"):
        engine.migrate("facebook_access", 2, mapping={"escalated": "limbo"})
    assert all(engine.show(i).version == 1 for i in ids.values())

    moved = engine.migrate("facebook_access", 2, mapping={"escalated": "awaiting_cancellation"})
    result = {item.instance: item for item in moved}
    assert [result[ids[s]].moved for s in ("new", "in_progress", "escalated")] == [True] * 3
    assert not result[ids["waiting_next_call"]].moved
    escalated = engine.show(ids["escalated"])
    assert (escalated.version, escalated.state, escalated.data["region"]) == (
        2,
        "awaiting_cancellation",
        "EU",
    )
    waiting = engine.show(ids["waiting_next_call"])
    assert waiting.version == 1 and [t.name for t in waiting.timers] == ["next_call_due"]
    event = engine.history(ids["escalated"])[-1]
    assert (event.kind, event.source, event.dest) == (
        "migration",
        "escalated",
        "awaiting_cancellation",
    )
    assert (event.detail["from"], event.detail["to"]) == (1, 2)
    # the migrated instance runs on v2, and its history replays across both versions
    engine.fire(ids["new"], "begin", **OPS)
    assert engine.show(ids["new"]).state == "in_progress"
    assert engine.verify().problems == ()
    # the one left behind moves once mapped to a state without that timer
    last = engine.migrate("facebook_access", 2, mapping={"waiting_next_call": "in_progress"})
    assert [(i.instance, i.moved) for i in last] == [(ids["waiting_next_call"], True)]
    assert engine.show(ids["waiting_next_call"]).timers == ()
    assert engine.verify().problems == ()
    assert engine.show(ids["closed"]).version == 1  # closed work stays as it ended


def test_render_diff_marks_added_and_removed_in_mermaid_and_html(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from fulfil.cli import main

    folder = folder_with(tmp_path, v2=True)
    base = ["--processes", str(folder), "--db", "memory://", "render", "facebook_access"]
    mermaid = CliRunner().invoke(main, [*base, "--diff", "1..2"])
    assert mermaid.exit_code == 0, mermaid.output
    text = mermaid.output
    assert "awaiting_cancellation : " in text and "[added]" in text
    assert "escalated : " in text and "[removed]" in text
    assert "class awaiting_cancellation added" in text and "class escalated removed" in text
    assert "escalated --> closed : access_obtained" in text and "[removed]" in text
    page = CliRunner().invoke(main, [*base, "--diff", "1..2", "--format", "html"])
    assert page.exit_code == 0 and page.output.startswith("<!DOCTYPE html>")
    assert '<tr class="added"><td>state</td><td>added</td><td>awaiting_cancellation' in page.output
    assert "<del>escalated</del>" in page.output
    bad = CliRunner().invoke(main, [*base, "--diff", "1-2"])
    assert bad.exit_code == 2 and "--diff takes OLD..NEW" in bad.output
    missing = CliRunner().invoke(main, [*base, "--diff", "1..3"])
    assert missing.exit_code != 0 and "has no version 3" in missing.output


def test_migrate_and_stats_commands_print_the_contract_json(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner
    from fulfil.cli import main

    v1, v2 = folder_with(tmp_path, v2=False), folder_with(tmp_path, v2=True)
    db = f"sqlite:///{tmp_path / 'm.db'}"

    def run(folder: Path, *args: str):  # type: ignore[no-untyped-def]
        base = ["--processes", str(folder), "--db", db, "--now", "2026-01-05T09:00:00Z"]
        return CliRunner().invoke(main, [*base, *args])

    data = json.dumps(DATA)
    started = run(v1, "start", "facebook_access", "--data", data, "--as", "sam:ops_specialist")
    instance = started.output.strip().splitlines()[-1]
    dry = run(v2, "migrate", "facebook_access", "--to", "2", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    items = json.loads(dry.output)
    assert [(i["instance"], i["can_move"]) for i in items] == [(instance, True)]
    assert set(items[0]) >= {"instance", "can_move", "reason", "changes"}
    bad = run(v2, "migrate", "facebook_access", "--to", "2", "--map", "nowhere")
    assert bad.exit_code == 2 and "--map takes OLD=NEW" in bad.output
    done = run(v2, "migrate", "facebook_access", "--to", "2")
    assert done.exit_code == 0 and f"moved {instance}: version 1 -> 2" in done.output
    stats = json.loads(run(v2, "stats", "facebook_access", "--json").output)
    assert stats["states"]["new"] == 1 and stats["time_in_state"] == {}
    assert run(v2, "verify", "--all").exit_code == 0
