"""`fulfil demo`: the eight shipped processes, each driven through its main scenario.

The demo recreates its database (a SQLite file it owns, `demo.db` by default), then for each
process of `DEMO_PROCESSES` runs the scenario of `processes/<id>.scenarios.yaml` marked
`demo: true` (else the first one) with a `ManualClock`, in that one store, so that afterwards
`fulfil --db sqlite:///demo.db show ...` shows what happened. It collects a summary per process
(final state, notifications, sheet rows) and writes the auditor HTML report of every process.
A process whose scenario cannot run (or fails) is reported with the reason; the others still run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import DefinitionError, FulfilError, UsageError
from .loader import Catalog, load_directory
from .model import AppendRow
from .render.html import render_report
from .runtime import InstanceView
from .store import Store, open_store
from .store.base import OutboxRecord
from .testing import ScenarioFile, ScenarioRun, load_scenario_file, result_lines
from .testing.scenarios import Scenario

__all__ = [
    "DEMO_PROCESSES",
    "DemoReport",
    "DemoRow",
    "demo_lines",
    "demo_scenario",
    "fresh_database",
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
    "fulfilment_list",  # last: its batches are the only messages not tied to an instance
)
_PREFIX = "demo-"


@dataclass(frozen=True)
class DemoRow:
    """What the demo did with one process.

    Attributes:
        process: the process id.
        scenario: the name of the scenario it ran ("" when there was none to run).
        reason: why the process did not run through ("" when it did).
        instances: every instance the scenario started, as it was at the end.
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


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:"):
        return None
    return Path(url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[9:])


def fresh_database(url: str) -> Store:
    """Open the demo's store empty: a SQLite file is deleted and created again.

    Raises:
        UsageError: the URL is not a SQLite file or memory://, or the file holds something the
            demo did not make (instances it did not start, or no fulfil tables at all).
    """
    if url.startswith("memory:"):
        return open_store(url)
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
    return open_store(url)


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


def _run_one(
    process: str, folder: Path, catalog: Catalog, store: Store, sheets_dir: Path
) -> DemoRow:
    path = folder / f"{process}.scenarios.yaml"
    if process not in catalog.ids:
        return DemoRow(process, reason=f"no process '{process}' in {folder}")
    if not path.is_file():
        return DemoRow(process, reason=f"no scenarios file {path}")
    try:
        parsed = load_scenario_file(path)
    except DefinitionError as exc:
        return DemoRow(process, reason=f"malformed scenarios file: {exc}")
    scenario = demo_scenario(parsed)
    with store.transaction(write=False) as tx:
        hidden = frozenset(tx.instance_ids())
    run = ScenarioRun(
        scenario,
        catalog,
        store=store,
        sheets_dir=sheets_dir,
        id_prefix=f"{_PREFIX}{process}-",
        hidden=hidden,
    )
    result = run.run()
    reason = ""
    if result.failure is not None:
        reason = "\n".join(result_lines(result)[1:]).strip()
    views = tuple(run.engine.show(engine_id) for engine_id in result.instances.values())
    sheets = tuple(
        (name, len(rows)) for name in _sheet_names(catalog) if (rows := run.sheet_rows(name))
    )
    return DemoRow(process, scenario.name, reason, views, tuple(run.messages()), sheets)


def run_demo(
    processes: Path,
    *,
    db: str = "sqlite:///demo.db",
    report: Path = Path("demo-report.html"),
    sheets_dir: Path = Path("demo-sheets"),
    only: Iterable[str] = DEMO_PROCESSES,
) -> DemoReport:
    """Run the demo: recreate the database, drive each process, write the HTML report.

    Raises:
        UsageError: the database cannot be recreated (see `fresh_database`), or no processes.
        DefinitionError: the processes folder has invalid definitions.
    """
    catalog = load_directory(processes)
    store = fresh_database(db)
    sheets_dir.mkdir(parents=True, exist_ok=True)
    for old in sheets_dir.glob("*.csv"):
        old.unlink()  # the demo owns its sheets folder: no CSV from an earlier run
    rows = []
    try:
        for process in only:
            try:
                rows.append(_run_one(process, processes, catalog, store, sheets_dir))
            except FulfilError as exc:
                rows.append(DemoRow(process, reason=str(exc)))
    finally:
        store.close()
    report.write_text(render_report(list(catalog), title="fulfil demo: the processes"), "utf-8")
    return DemoReport(tuple(rows), db, sheets_dir, report)


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
