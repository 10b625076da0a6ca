"""`fulfil check`: exit codes, located findings with pasteable scenarios, timing, JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner
from fulfil.cli import main

FOLDER = Path(__file__).parents[1] / "processes" / "checking"
SHIPPED = Path(__file__).parents[2] / "processes"


def run(*args: str, processes: Path = FOLDER) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--processes", str(processes), "check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_clean_process_exits_zero() -> None:
    """No findings: exit 0 and one summary line saying so."""
    code, out, _ = run(str(FOLDER / "clean.yaml"))
    assert code == 0
    [line] = out.splitlines()
    assert line.startswith(f"clean ({FOLDER / 'clean.yaml'}): 19 configurations, all of them, ")
    assert out.rstrip().endswith("no findings")


def test_an_overlap_prints_kind_location_and_the_minimal_scenario() -> None:
    """Exit 1; the finding names FILE:LINE:COL and prints the three calls as YAML steps."""
    code, out, _ = run("overlap")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("guard_overlap ")
    assert f"{FOLDER / 'overlap.yaml'}:20:5: 'call' from state 'calling'" in lines[0]
    scenario = yaml.safe_load("\n".join(line[4:] for line in lines[2:-1]))
    assert scenario[0]["steps"] == [
        {"start": {"data": {}}, "as": "checker:agent"},
        {"fire": "call", "as": "checker:agent"},
        {"fire": "call", "as": "checker:agent"},
        {"fire": "call", "as": "checker:agent"},
        {"expect": {"state": "calling"}},
    ]
    assert lines[-1].endswith("1 finding")


def test_the_printed_scenarios_replay_with_fulfil_test(tmp_path: Path) -> None:
    """Pasted into a scenarios file, every finding's scenario runs and shows what it says."""
    for name in ("overlap", "stuck", "chain"):
        shutil.copy(FOLDER / f"{name}.yaml", tmp_path)
        code, out, _ = run(str(tmp_path / f"{name}.yaml"), "--json")
        assert code == 1
        scenarios = [f["scenario"] for f in json.loads(out)["findings"] if f["scenario"]]
        document = {"process": name, "scenarios": scenarios}
        (tmp_path / f"{name}.scenarios.yaml").write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(main, ["--processes", str(tmp_path), "test", str(tmp_path)])
    assert result.exit_code == 0, result.stdout
    assert "5 passed, 0 failed" in result.stdout


def test_timing_prints_fourteen_days_and_does_not_fail_by_itself() -> None:
    """--timing adds the timer-only report; a clean process still exits 0."""
    code, out, _ = run("clean", "--timing")
    assert code == 0
    assert "    calling: 2 days (via next_call)" in out.splitlines()
    code, out, _ = run("chain", "--from", "reminded")
    assert "  from reminded:" in out.splitlines()
    assert "    escalated: 7 days (via escalate)" in out.splitlines()


def test_json_output_carries_findings_and_timing() -> None:
    """--json: findings with kind, location, message and scenario; timing when asked."""
    code, out, _ = run("stuck", "--json", "--timing", "--depth", "4")
    assert code == 1
    data = json.loads(out)
    assert data["depth"] == 4
    assert [f["kind"] for f in data["findings"]] == ["trap", "never_fires"]
    assert data["findings"][0]["location"] == f"{FOLDER / 'stuck.yaml'}:11:3"
    assert data["timing"]["reaches"] == []


def test_facebook_access_checks_clean_with_its_reminder_timing() -> None:
    """The reference process has no findings; the next call is due 7 days after a failure."""
    code, out, _ = run("facebook_access", "--timing", processes=SHIPPED)
    assert code == 0
    assert "  from waiting_next_call:" in out.splitlines()
    assert "    in_progress: 7 days (via next_call_due)" in out.splitlines()


def test_bad_targets_are_refused_without_traceback(tmp_path: Path) -> None:
    """Unknown process, missing file, unknown --from state, invalid definition: clear errors."""
    code, _, err = run("nope")
    assert code != 0 and "unknown process 'nope'" in err
    code, _, err = run(str(tmp_path / "missing.yaml"))
    assert code != 0 and "no such file" in err
    code, _, err = run("chain", "--from", "nowhere")
    assert code != 0 and "no state 'nowhere'" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nversion: 1\nstates: {}\n")
    code, _, err = run(str(bad))
    assert code == 1 and "cannot check an invalid definition" in err


def test_retention_checks_clean_without_a_hand_given_depth() -> None:
    """`fulfil check retention` covers its 10-event main path by itself and says which depth it
    chose; `--depth 8` alone does not (the depth is the user's then)."""
    code, out, _ = run("retention", processes=SHIPPED)
    assert code == 0, out
    assert "up to 10 events (the depth chosen: the first from 8 within which every" in out
    assert out.rstrip().endswith("no findings")
    code, out, _ = run("retention", "--depth", "8", processes=SHIPPED)
    assert code == 1 and "never fires within 8 events" in out
