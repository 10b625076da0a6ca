"""`fulfil demo` with CliRunner: a table per process, the HTML report, a recreated database."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main
from fulfil.engine.testing import parse_scenarios
from fulfil.engine.testing.demo import DEMO_PROCESSES, demo_scenario, run_demo

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
FIXTURES = Path(__file__).resolve().parent / "processes" / "scenarios"
HEADER = re.compile(r"^(\w+)  \[(ok|FAILED)\]", re.MULTILINE)


def demo(tmp_path: Path, *args: str, processes: Path = PROCESSES) -> Result:
    base = ["--processes", str(processes), *args, "demo"]
    options = ["--report", str(tmp_path / "report.html"), "--sheets", str(tmp_path / "sheets")]
    return CliRunner().invoke(main, [*base, *options])


def instance_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return sorted(row[0] for row in conn.execute("SELECT id FROM instances"))


@pytest.fixture
def ran(tmp_path: Path) -> tuple[Result, Path]:
    db = tmp_path / "demo.db"
    return demo(tmp_path, "--db", f"sqlite:///{db}"), db


def test_demo_prints_a_table_per_process(ran: tuple[Result, Path]) -> None:
    """Each of the eight processes gets a block: state table, notifications and sheets."""
    result, _ = ran
    headers = HEADER.findall(result.output)
    assert [process for process, _ in headers] == list(DEMO_PROCESSES)
    for block in result.output.split("\n\n")[: len(DEMO_PROCESSES)]:
        assert "notifications sent" in block and "sheets written" in block, block
        if "[ok]" in block.splitlines()[0]:
            assert re.search(r"^    instance +state +status$", block, re.MULTILINE), block


def test_demo_exit_code_says_whether_every_process_ran(ran: tuple[Result, Path]) -> None:
    """Exit 0 only when every process ran through its scenario; a failure says why."""
    result, _ = ran
    failed = [process for process, mark in HEADER.findall(result.output) if mark == "FAILED"]
    assert result.exit_code == (1 if failed else 0), result.output
    assert f"{8 - len(failed)} of 8 processes ran through their scenario" in result.output
    assert result.output.count("  why it failed:") == len(failed)


def test_demo_writes_the_report_with_every_process(
    ran: tuple[Result, Path], tmp_path: Path
) -> None:
    """The HTML report names every shipped process and its path is printed."""
    result, db = ran
    report = tmp_path / "report.html"
    html = report.read_text(encoding="utf-8")
    for process in DEMO_PROCESSES:
        assert f'id="process-{process}"' in html
    assert f"report:   {report}" in result.output
    assert db.is_file()


def test_demo_recreates_its_database(ran: tuple[Result, Path], tmp_path: Path) -> None:
    """A second run starts from an empty database: the same instances, not twice as many."""
    _, db = ran
    first = instance_ids(db)
    assert first and all(i.startswith("demo-") for i in first)
    again = demo(tmp_path, "--db", f"sqlite:///{db}")
    assert again.exception is None or isinstance(again.exception, SystemExit)
    assert instance_ids(db) == first


def test_demo_refuses_a_database_it_did_not_make(tmp_path: Path) -> None:
    """A file that is not a demo database is left alone and the demo exits 2."""
    db = tmp_path / "work.db"
    db.write_bytes(b"precious data")
    result = demo(tmp_path, "--db", f"sqlite:///{db}")
    assert result.exit_code == 2
    assert "is not a demo database" in result.output
    assert db.read_bytes() == b"precious data"


def test_demo_uses_demo_db_when_no_db_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --db the demo writes demo.db, never the default fulfil.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FULFIL_DB", raising=False)
    result = demo(tmp_path)
    assert (tmp_path / "demo.db").is_file() and not (tmp_path / "fulfil.db").exists()
    assert "database: sqlite:///demo.db" in result.output


def test_demo_completes_when_processes_are_missing(tmp_path: Path) -> None:
    """Processes the folder lacks are FAILED rows with the reason; the report is still written."""
    result = demo(tmp_path, "--db", "memory://", processes=FIXTURES)
    assert result.exit_code == 1
    assert result.output.count("FAILED") == 8
    assert f"no process 'facebook_access' in {FIXTURES}" in result.output
    assert 'id="process-ticket"' in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_demo_scenario_prefers_the_one_marked_demo() -> None:
    """The demo runs the scenario marked `demo: true`, else the first one."""
    text = (
        "process: p\nscenarios:\n"
        "  - name: first\n    steps: [{tick: true}]\n"
        "  - name: chosen\n    demo: true\n    steps: [{tick: true}]\n"
    )
    assert demo_scenario(parse_scenarios(text)).name == "chosen"
    assert (
        demo_scenario(
            parse_scenarios(text.replace("demo: true", "clock: 2026-01-05T09:00:00Z"))
        ).name
        == "first"
    )


@pytest.mark.parametrize("process", DEMO_PROCESSES)
def test_each_shipped_scenario_file_marks_one_demo_scenario(process: str) -> None:
    """Every shipped scenarios file marks exactly one scenario `demo: true` (its main path)."""
    path = PROCESSES / f"{process}.scenarios.yaml"
    parsed = parse_scenarios(path.read_text(encoding="utf-8"), str(path))
    assert [s.name for s in parsed.scenarios if s.demo] == [demo_scenario(parsed).name]


SUMMARY_ROW = re.compile(r"^    \s*(demo-\S+)\s+(\S+)\s+(\S.*)$", re.MULTILINE)


def shown(db: Path, instance: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "show", instance, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def steps(db: Path, prefix: str) -> dict[str, list[tuple[object, ...]]]:
    """Each instance's history (seq, time, kind, trigger, move) by id, for ids with the prefix."""
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT instance, seq, at, kind, trigger_name, source, dest FROM events "
            "WHERE instance LIKE ? ORDER BY instance, seq",
            (f"{prefix}%",),
        ).fetchall()
    out: dict[str, list[tuple[object, ...]]] = {}
    for instance, *rest in found:
        out.setdefault(instance, []).append(tuple(rest))
    return out


def test_demo_summary_is_what_the_database_holds(ran: tuple[Result, Path]) -> None:
    """Every instance's state and status in the summary are those `fulfil show` reads after."""
    result, db = ran
    rows = SUMMARY_ROW.findall(result.stdout)
    assert len(rows) >= len(DEMO_PROCESSES)
    for instance, state, status in rows:
        view = shown(db, instance)
        closure = f" / {view['closure_reason']}" if view["closure_reason"] else ""
        assert (view["state"], f"{view['status']}{closure}") == (state, status), instance


def test_each_process_runs_as_if_it_ran_alone(ran: tuple[Result, Path], tmp_path: Path) -> None:
    """No scenario's clock or ticks reach another's instances: each history is the one the
    process's scenario gives when the demo runs that process alone."""
    _, db = ran
    for process in DEMO_PROCESSES:
        alone = tmp_path / f"{process}.db"
        run_demo(
            PROCESSES,
            db=f"sqlite:///{alone}",
            report=tmp_path / f"{process}.html",
            sheets_dir=tmp_path / f"{process}-sheets",
            only=(process,),
        )
        prefix = f"demo-{process}-"
        assert steps(db, prefix) == steps(alone, prefix), process
        assert steps(alone, prefix), process


def test_the_demo_database_verifies(ran: tuple[Result, Path]) -> None:
    """Every history the demo leaves keeps its hash chain and replays (`fulfil verify`)."""
    _, db = ran
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "verify"])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"verified [1-9]\d* instance\(s\), [1-9]\d* event\(s\)(, unkeyed)?: ok", result.stdout
    )


def test_the_report_shows_each_instance_history_under_its_diagram(
    ran: tuple[Result, Path], tmp_path: Path
) -> None:
    """Each demo instance has its history in its process's section, after the diagram."""
    _, db = ran
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    with sqlite3.connect(db) as conn:
        instances = conn.execute("SELECT id, process, seq FROM instances").fetchall()
    assert instances
    for instance, process, seq in instances:
        start = html.index(f'<section id="process-{process}"')
        section = html[start : html.index("</section>", start)]
        assert f'id="instance-{instance}"' in section, instance
        diagram = section.index("<h3>Diagram</h3>")
        history = section.index(f'id="instance-{instance}"')
        assert diagram < history
        table = section[history : section.index("</table>", history)]
        assert table.count("<tr>") == seq + 1, instance  # a header, then one row per event


def test_a_sheet_two_processes_write_keeps_the_rows_of_both(
    ran: tuple[Result, Path], tmp_path: Path
) -> None:
    """Each sheet's CSV holds the rows of every process that wrote to it, as the database does."""
    _, db = ran
    with sqlite3.connect(db) as conn:
        found = conn.execute("SELECT sheet, instance FROM sheet_rows WHERE sheet != ''").fetchall()
    counts: dict[str, int] = {}
    writers: dict[str, set[str]] = {}
    for sheet, instance in found:
        counts[sheet] = counts.get(sheet, 0) + 1
        writers.setdefault(sheet, set()).add(instance.split("-")[1])  # demo-PROCESS-name
    assert max(len(processes) for processes in writers.values()) >= 2  # a shared sheet
    for sheet, count in counts.items():
        with (tmp_path / "sheets" / f"{sheet}.csv").open(encoding="utf-8") as csv_file:
            assert len(csv_file.readlines()) == count + 1, sheet  # a header, then the rows


def test_a_keyed_demo_database_verifies_with_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sealed with FULFIL_AUDIT_KEY, the copied histories and the store-wide sequence verify."""
    monkeypatch.setenv("FULFIL_AUDIT_KEY", "k1:" + "ab" * 32)
    db = tmp_path / "keyed.db"
    assert demo(tmp_path, "--db", f"sqlite:///{db}").exit_code == 0
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "verify", "--all"])
    assert result.exit_code == 0, result.output
    assert "unkeyed" not in result.output
