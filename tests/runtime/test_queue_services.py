"""The operations dashboard, separated by service (Facebook, PDM, RM): `queue` groups the work by
its `service`, shows the priority, and keeps the contract's `ready`/`in_progress` lists."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.text import queue_lines
from fulfil.engine.store import MemoryStore, open_store

SHIPPED = Path(__file__).resolve().parents[2] / "processes"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AM = {"actor": "alex", "role": "account_manager"}
CLIENT = {
    "client_email": "c@example.com",
    "fr_number": "FR-1",
    "account_manager": "am@example.com",
    "csm": "csm@example.com",
}


def dashboard(engine: Engine) -> None:
    """An RM request, a PDM request and a Facebook task, in that order, all released."""
    for process, name in (("rm_outreach", "rm"), ("pdm_outreach", "pdm")):
        engine.start(process, {"client": name, **CLIENT}, id=name, **AM)
        engine.fire(f"{name}.cs_intake", "complete", **AM)
    engine.start("facebook_access", {"client": "fb", **CLIENT}, id="fb", **AM)
    engine.fire("pdm.intake_call", "escalate_priority", **AM)
    engine.fire("fb", "begin", actor="sam", role="ops_specialist")


def test_queue_groups_by_service_in_the_dashboards_order(tmp_path: Path) -> None:
    engine = Engine(load_directory(SHIPPED), store=MemoryStore(), clock=ManualClock(T0))
    dashboard(engine)
    view = engine.queue("digms_ops")
    groups = [
        (service, [i.id for i in r], [i.id for i in p]) for service, r, p in view.by_service()
    ]
    assert [g[0] for g in groups] == ["Facebook", "PDM", "RM"]
    assert groups[0] == ("Facebook", [], ["fb"])
    assert "pdm.intake_call" in groups[1][1] and "rm.obtain_gbp_access" in groups[2][1]
    assert {i.service for i in view.ready} == {"PDM", "RM"}
    lines = queue_lines(view)
    assert lines[0] == f"Ready to work ({len(view.ready)})"
    assert lines[1].startswith("  PDM (") and lines[-2] == "  Facebook (1)"
    [escalated] = [line for line in lines if "pdm.intake_call " in line]
    assert "ESCALATED" in escalated and escalated.startswith("    pdm.intake_call  ")


def test_queue_json_keeps_ready_and_in_progress_and_adds_the_grouping(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    store = open_store(db)
    dashboard(Engine(load_directory(SHIPPED), store=store, clock=ManualClock(T0)))
    store.close()
    result = CliRunner().invoke(
        main, ["--db", db, "--processes", str(SHIPPED), "queue", "digms_ops", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"ready", "in_progress", "by_service"} <= set(out)
    ready = {i["id"]: i for i in out["ready"]}
    assert ready["pdm.intake_call"]["service"] == "PDM"
    assert ready["pdm.intake_call"]["priority"] == "escalated"
    assert ready["rm.obtain_gbp_access"]["priority"] == "normal"
    assert [g["service"] for g in out["by_service"]] == ["Facebook", "PDM", "RM"]
    listed = [i for g in out["by_service"] for i in g["ready"]]
    assert sorted(listed) == sorted(ready)  # every ready item once, in its service
    assert out["by_service"][0] == {"service": "Facebook", "ready": [], "in_progress": ["fb"]}


def test_work_without_a_service_is_listed_as_before(tmp_path: Path) -> None:
    engine = Engine(load_directory(SHIPPED), store=MemoryStore(), clock=ManualClock(T0))
    engine.start("retention", {"client": "x", "account_manager": "am@example.com"}, **AM)
    lines = queue_lines(engine.queue("account_managers"))
    assert lines[0] == "Ready to work (1)" and lines[1].startswith("  retention-1  retention  ")
