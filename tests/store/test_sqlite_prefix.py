"""A table prefix for the engine's SQLite tables: a file an application shares, whose own
tables have the engine's names (an `events` table), opened with `?prefix=fulfil_`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import StoreError, UsageError
from fulfil.engine.runtime import Engine, StepContext
from fulfil.engine.store import SQLiteStore, open_store

TESTS = Path(__file__).parents[1]
TIMED = TESTS / "runtime" / "processes" / "timed.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def app_file(path: Path) -> Path:
    """An application's SQLite file with tables named like the engine's."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT)")
        conn.execute("CREATE TABLE instances (name TEXT)")
        conn.execute("INSERT INTO events (what) VALUES ('signed up')")
    return path


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        return {name for (name,) in rows if not name.startswith("sqlite_")}


def test_without_a_prefix_the_file_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = app_file(tmp_path / "app.db")
    with pytest.raises(StoreError, match=r"\?prefix=fulfil_"):
        open_store(f"sqlite:///{path}")
    assert tables(path) == {"events", "instances"}  # nothing half-written


def test_with_a_prefix_the_engine_runs_beside_the_application_tables(tmp_path: Path) -> None:
    path = app_file(tmp_path / "app.db")
    store = open_store(f"sqlite:///{path}?prefix=fulfil_")
    assert store.url.endswith("?prefix=fulfil_")
    clock = ManualClock(T0)
    seen: list[str] = []

    def mirror(step: StepContext) -> None:  # the hook's cursor speaks the app's own names
        step.cursor.execute("INSERT INTO events (what) VALUES (?)", (step.instance.state,))
        seen.append(step.call)

    engine = Engine(
        Catalog((load_file(TIMED).process,)), store=store, clock=clock, step_hooks=[mirror]
    )
    engine.start("timed", {"name": "n"}, id="t1")
    engine.fire("t1", "begin")
    clock.advance(timedelta(days=3))
    engine.tick()
    assert engine.verify().ok
    assert [e.kind for e in engine.history("t1")][:2] == ["start", "transition"]
    assert engine.events_since().events
    store.close()
    names = tables(path)
    assert {"events", "instances", "fulfil_events", "fulfil_instances", "fulfil_jobs"} <= names
    assert {n for n in names if not n.startswith("fulfil_")} == {"events", "instances"}
    with sqlite3.connect(path) as conn:
        whats = [w for (w,) in conn.execute("SELECT what FROM events ORDER BY id")]
    assert whats[:3] == ["signed up", "new", "working"] and "sla" in seen
    again = SQLiteStore(path, prefix="fulfil_")  # reopened: schema current, nothing to do
    assert again.upgrade() == [] and again.schema_version() > 0
    again.close()


def test_bad_prefixes_and_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="table prefix"):
        open_store(f"sqlite:///{tmp_path / 'a.db'}?prefix=1-bad")
    with pytest.raises(UsageError, match="unknown option 'schema'"):
        open_store(f"sqlite:///{tmp_path / 'a.db'}?schema=x")


def test_the_cli_upgrades_and_runs_a_prefixed_file(tmp_path: Path) -> None:
    path = app_file(tmp_path / "app.db")
    db = f"sqlite:///{path}?prefix=fulfil_"
    base = ["--db", db, "--processes", str(TIMED.parent), "--now", "2026-03-02T09:00:00Z"]
    upgraded = CliRunner().invoke(main, ["db", "upgrade", "--db", db])
    assert upgraded.exit_code == 0, upgraded.output
    started = CliRunner().invoke(main, [*base, "start", "timed", "--data", '{"name": "n"}'])
    assert started.exit_code == 0, started.output
    shown = CliRunner().invoke(main, [*base, "show", "timed-1"])
    assert "timed-1" in shown.output
    assert "fulfil_schema_version" in tables(path)


def test_every_table_of_the_migrations_is_prefixed() -> None:
    """A migration adding a table must add it to `prefix.TABLES`, else it escapes the prefix."""
    import re

    from fulfil.engine.store.prefix import TABLES
    from fulfil.engine.store.schema import MIGRATIONS

    created = {
        match.group(1)
        for _, statements in MIGRATIONS
        for statement in statements
        if (match := re.match(r"CREATE TABLE (\w+)", statement))
    }
    assert created <= set(TABLES)
