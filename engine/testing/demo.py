"""`fulfil demo`: the eight shipped processes, each driven through its main scenario.

Each process runs the scenario of `processes/<id>.scenarios.yaml` marked `demo: true` (else the
first one) on a clock and a database of its own, so that one scenario's ticks never fire
another's timers; what it wrote is then copied, ids kept, into the demo's database (a SQLite
file it owns, `demo.db` by default), so that afterwards `fulfil --db sqlite:///demo.db show ...`
shows what happened. The summary is read back from that database: per process, each instance
as it is there, the notifications and the sheet rows. The auditor's HTML report draws every
process with the history of each of its demo instances under the diagram. A process whose
scenario cannot run (or fails) is reported with the reason; the others still run.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock.clocks import ManualClock, SystemClock
from ..definition.loader import Catalog, load_directory
from ..errors import DefinitionError, FulfilError, UsageError
from ..model import AppendRow
from ..people import Directory, load_people, people_path
from ..render.html import render_report
from ..render.html_history import history_html
from ..runtime import Engine, InstanceView
from ..runtime.views import event_json
from ..store import Store, open_store
from ..store.base import OutboxRecord
from ..store.sqlite_copy import RESERVED, copy_rows, highest_ids, reserve_ids
from . import ScenarioFile, ScenarioRun, load_scenario_file, result_lines
from .scenarios import Scenario

__all__ = [
    "DEMO_PROCESSES",
    "DemoReport",
    "DemoRow",
    "demo_lines",
    "demo_scenario",
    "prepare_database",
    "run_demo",
]

DEMO_PROCESSES = (
    "facebook_access",
    "pdm_outreach",
    "rm_outreach",
    "retention",
    "offboarding",
    "mass_comm_escalation",
    "smm_fulfilment",
    "fulfilment_list",
)
_PREFIX = "demo-"


@dataclass(frozen=True)
class DemoRow:
    """What the demo did with one process, as the demo's database holds it afterwards.

    Attributes:
        process: the process id.
        scenario: the name of the scenario it ran ("" when there was none to run).
        reason: why the process did not run through ("" when it did).
        instances: every instance the scenario started, as it is in the database.
        messages: the notifications the scenario queued.
        sheets: (sheet name, rows written) for each sheet the scenario wrote to.
    """

    process: str
    scenario: str = ""
    reason: str = ""
    instances: tuple[InstanceView, ...] = ()
    messages: tuple[OutboxRecord, ...] = ()
    sheets: tuple[tuple[str, int], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reason


@dataclass(frozen=True)
class DemoReport:
    """Every process's row, and where the database, sheets and HTML report are."""

    rows: tuple[DemoRow, ...]
    db: str
    sheets_dir: Path
    report: Path

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)


@dataclass
class _Ran:
    """One process's run in its own database: what to read back from the demo's database."""

    process: str
    scenario: str = ""
    reason: str = ""
    ids: tuple[str, ...] = ()
    now: datetime | None = None  # the scenario's clock when it ended
    before: dict[str, int] = field(default_factory=dict)  # the highest ids before its rows
    after: dict[str, int] = field(default_factory=dict)  # ... and after


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:"):
        return None
    return Path(url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[9:])


def prepare_database(url: str) -> Path | None:
    """Delete the demo's SQLite file (refusing one it did not make); None for memory://.

    Raises:
        UsageError: the URL is not a SQLite file or memory://, or the file holds something the
            demo did not make (instances it did not start, or no fulfil tables at all).
    """
    if url.startswith("memory:"):
        return None
    path = _sqlite_path(url)
    if path is None:
        raise UsageError(
            f"the demo recreates its database and runs on SQLite only, not '{url}'; "
            "use --db sqlite:///demo.db"
        )
    if path.exists() and path.stat().st_size > 0:
        _refuse_foreign(path)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def _refuse_foreign(path: Path) -> None:
    """Refuse to delete a database the demo did not make."""
    refusal = UsageError(
        f"{path} is not a demo database (it holds data the demo did not make); the demo "
        "deletes and recreates its database: remove the file or choose another --db"
    )
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT id FROM instances WHERE id NOT LIKE ? LIMIT 1", (f"{_PREFIX}%",)
            ).fetchall()
    except sqlite3.Error:
        raise refusal from None
    if rows:
        raise refusal


def demo_scenario(parsed: ScenarioFile) -> Scenario:
    """The scenario marked `demo: true`, else the first of the file."""
    return next((s for s in parsed.scenarios if s.demo), parsed.scenarios[0])


def _sheet_names(catalog: Catalog) -> list[str]:
    names = {
        action.sheet
        for process in catalog
        for transition in process.transitions
        for action in transition.actions
        if isinstance(action, AppendRow)
    }
    return sorted(names)


def _scenario_of(process: str, folder: Path, catalog: Catalog) -> Scenario | str:
    """The process's demo scenario, or why there is none."""
    path = folder / f"{process}.scenarios.yaml"
    if process not in catalog.ids:
        return f"no process '{process}' in {folder}"
    if not path.is_file():
        return f"no scenarios file {path}"
    try:
        return demo_scenario(load_scenario_file(path))
    except DefinitionError as exc:
        return f"malformed scenarios file: {exc}"


def _run_alone(
    process: str,
    folder: Path,
    catalog: Catalog,
    target: Path,
    work: Path,
    people: Directory | None = None,
) -> _Ran:
    """Run the process's scenario in a database of its own, then copy it into `target`."""
    scenario = _scenario_of(process, folder, catalog)
    if isinstance(scenario, str):
        return _Ran(process, reason=scenario)
    ran = _Ran(process, scenario.name, before=highest_ids(target))
    own = work / f"{process}.db"
    store = open_store(f"sqlite:///{own}")
    try:
        reserve_ids(own, ran.before)
        run = ScenarioRun(
            scenario,
            catalog,
            store=store,
            sheets_dir=work / "sheets" / process,  # written from the demo's database at the end
            id_prefix=f"{_PREFIX}{process}-",
            hidden=frozenset({RESERVED}),
            people=people,
        )
        result = run.run()
        if result.failure is not None:
            ran.reason = "\n".join(result_lines(result)[1:]).strip()
        ran.ids, ran.now = tuple(result.instances.values()), run.clock.now()
    except FulfilError as exc:
        ran.reason = str(exc)
    finally:
        store.close()
    copy_rows(own, target, ran.before)
    ran.after = highest_ids(target)
    return ran


def _within(ran: _Ran, table: str, ident: int | None) -> bool:
    return ident is not None and ran.before.get(table, 0) < ident <= ran.after.get(table, 0)


def _read_back(ran: _Ran, catalog: Catalog, store: Store, sheets: list[str]) -> DemoRow:
    """The process's row as the demo's database holds it, at the end of its scenario."""
    engine = Engine(catalog, store=store, clock=ManualClock(ran.now) if ran.now else SystemClock())
    views = tuple(engine.show(ident) for ident in ran.ids)
    messages = tuple(m for m in engine.outbox() if _within(ran, "outbox", m.id))
    written = []
    with engine.store.transaction(write=False) as tx:
        for name in sheets:
            count = sum(1 for row in tx.sheet_rows(name) if _within(ran, "sheet_rows", row.id))
            if count:
                written.append((name, count))
    return DemoRow(ran.process, ran.scenario, ran.reason, views, messages, tuple(written))


def _family(engine: Engine, view: InstanceView) -> list[InstanceView]:
    """The instance, its tasks and the instances its `start` actions started, theirs after
    them, depth first."""
    out = [view]
    for child in view.children:
        out += _family(engine, engine.show(child.id))
    for event in engine.history(view.id):
        for started in event.detail.get("started", ()):
            out += _family(engine, engine.show(started))
    return out


def _histories(engine: Engine, rows: Iterable[DemoRow]) -> dict[str, str]:
    """For each process, the HTML of its demo instances' histories (tasks under their own)."""
    runs: dict[str, list[tuple[dict[str, Any], list[dict[str, Any]]]]] = {}
    for row in rows:
        for view in row.instances:
            for member in _family(engine, view):
                events = [event_json(event) for event in engine.history(member.id)]
                runs.setdefault(member.process, []).append((member.to_json(), events))
    return {process: history_html(found) for process, found in runs.items()}


def run_demo(
    processes: Path,
    *,
    db: str = "sqlite:///demo.db",
    report: Path = Path("demo-report.html"),
    sheets_dir: Path = Path("demo-sheets"),
    only: Iterable[str] = DEMO_PROCESSES,
) -> DemoReport:
    """Run the demo: recreate the database, drive each process alone, write the HTML report.

    Raises:
        UsageError: the database cannot be recreated (see `prepare_database`).
        DefinitionError: the processes folder has invalid definitions.
    """
    catalog = load_directory(processes)
    found = people_path(processes)
    people = load_people(found, catalog) if found is not None else None
    path = prepare_database(db)
    sheets_dir.mkdir(parents=True, exist_ok=True)
    for old in sheets_dir.glob("*.csv"):
        old.unlink()  # the demo owns its sheets folder: no CSV from an earlier run
    with tempfile.TemporaryDirectory(prefix="fulfil-demo-") as temp:
        work = Path(temp)
        target = path or work / "demo.db"  # memory://: the database goes with the run
        store = open_store(f"sqlite:///{target}")
        try:
            ran = [
                _run_alone(process, processes, catalog, target, work, people) for process in only
            ]
            sheets = _sheet_names(catalog)
            rows = tuple(_read_back(one, catalog, store, sheets) for one in ran)
            engine = Engine(catalog, store=store, clock=SystemClock(), sheets_dir=sheets_dir)
            engine.write_sheets(sorted({name for row in rows for name, _ in row.sheets}))
            histories = _histories(engine, rows)
        finally:
            store.close()
    title = "fulfil demo: the processes and what the demo did with them"
    report.write_text(render_report(list(catalog), title=title, runs=histories), "utf-8")
    return DemoReport(rows, db, sheets_dir, report)


def _table(
    headers: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "    "
) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [indent + line.rstrip(), indent + "  ".join("-" * w for w in widths)]
    for row in rows:
        out.append(
            indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    return out


def _status(status: str, reason: str) -> str:
    return f"{status} / {reason}" if reason else status


def _row_lines(row: DemoRow) -> list[str]:
    mark = "ok" if row.ok else "FAILED"
    lines = [f"{row.process}  [{mark}]" + (f"  scenario: {row.scenario}" if row.scenario else "")]
    if row.instances:
        states: list[tuple[str, ...]] = []
        for view in row.instances:
            states.append((view.id, view.state, _status(view.status, view.closure_reason)))
            states += [
                (f"  {c.id}", c.state, _status(c.status, c.closure_reason)) for c in view.children
            ]
        lines += _table(("instance", "state", "status"), states)
    if row.messages:
        lines.append(f"  notifications sent ({len(row.messages)})")
        lines += _table(
            ("channel", "to", "cc", "subject"),
            [(m.channel, ", ".join(m.to), ", ".join(m.cc), m.subject) for m in row.messages],
        )
    else:
        lines.append("  notifications sent: none")
    if row.sheets:
        lines.append("  sheets written")
        lines += _table(("sheet", "rows"), [(name, str(count)) for name, count in row.sheets])
    else:
        lines.append("  sheets written: none")
    if not row.ok:
        lines.append("  why it failed:")
        lines += ["    " + line for line in row.reason.splitlines()]
    return lines


def demo_lines(report: DemoReport) -> list[str]:
    """The printed summary: a table per process, then where everything was written."""
    lines: list[str] = []
    for row in report.rows:
        lines += [*_row_lines(row), ""]
    done = sum(1 for row in report.rows if row.ok)
    lines.append(f"{done} of {len(report.rows)} processes ran through their scenario")
    lines.append(f"database: {report.db}")
    lines.append(f"sheets:   {report.sheets_dir}/")
    lines.append(f"report:   {report.report}")
    return lines
