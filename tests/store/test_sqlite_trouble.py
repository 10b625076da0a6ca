"""A SQLite file in trouble: full, read-only, or locked by a writer. Clear errors, no damage."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fulfil.cli import main
from fulfil.engine import store as stores
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import StoreError
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore, Store

PROCESSES = Path(__file__).resolve().parents[1] / "runtime" / "processes"
CATALOG = Catalog((load_file(PROCESSES / "access.yaml").process,))
CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OPS = {"actor": "sam", "role": "ops_specialist"}


def _engine(store: Store) -> Engine:
    return Engine(CATALOG, store=store, clock=ManualClock(T0))


def _cli(db: Path, *args: str) -> Result:
    base = ["--db", f"sqlite:///{db}", "--processes", str(PROCESSES), "--now", T0.isoformat()]
    return CliRunner().invoke(main, [*base, *args])


def _counts(store: SQLiteStore) -> tuple[int, ...]:
    tables = ("instances", "events", "timers", "outbox", "counters")
    return tuple(store.execute(f"SELECT COUNT(*) FROM {name}")[0][0] for name in tables)


def _cap(store: SQLiteStore) -> None:
    """Let the file grow no more: SQLite then answers SQLITE_FULL, as on a full disk."""
    pages = store.execute("PRAGMA page_count")[0][0]
    store.execute(f"PRAGMA max_page_count = {pages}")


# a full disk -----------------------------------------------------------------------------------
def test_a_full_disk_refuses_the_whole_step(tmp_path: Path) -> None:
    """SQLITE_FULL mid-step: a StoreError saying what to do, and nothing of the step stored."""
    store = SQLiteStore(tmp_path / "f.db")
    engine = _engine(store)
    _cap(store)
    for _ in range(200):
        before = _counts(store)
        try:
            engine.start("access", CLIENT)
        except StoreError as exc:
            message = str(exc)
            break
    else:
        pytest.fail("the capped file never filled up")
    assert "is full" in message and "free space" in message and "nothing" in message
    assert _counts(store) == before
    store.execute("PRAGMA max_page_count = 1000000")
    number = before[0] + 1
    assert engine.start("access", CLIENT).id == f"access-{number}"
    assert engine.verify().ok
    store.close()


def test_a_full_disk_gives_the_cli_one_line_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fulfil start` on a full database: exit non-zero with the message, not a traceback."""
    db = tmp_path / "f.db"
    SQLiteStore(db).close()

    def capped(url: str) -> Store:
        store = SQLiteStore(url[len("sqlite:///") :])
        _cap(store)
        return store

    monkeypatch.setitem(stores._SCHEMES, "sqlite", capped)
    for _ in range(200):
        result = _cli(db, "start", "access", "--data", '{"client": "A", "client_email": "a@b.c"}')
        if result.exit_code != 0:
            break
    assert isinstance(result.exception, SystemExit), result.exc_info
    assert "is full" in result.output and "Traceback" not in result.output


# read-only media -------------------------------------------------------------------------------
def _chattr(flag: str, *paths: Path) -> bool:
    tool = shutil.which("chattr")
    if tool is None:
        return False
    done = subprocess.run([tool, flag, *map(str, paths)], capture_output=True, check=False)
    return done.returncode == 0


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[Path]:
    """A database with one instance in a folder nobody may write, root included.

    As root, permission bits stop nothing: the file and folder are made immutable
    (`chattr +i`), which refuses writes to root as read-only media does. Otherwise they are
    made read-only with chmod.
    """
    folder = tmp_path / "media"
    folder.mkdir()
    db = folder / "f.db"
    store = SQLiteStore(db)
    engine = _engine(store)
    instance = engine.start("access", CLIENT).id
    engine.fire(instance, "begin", **OPS)
    store.close()
    immutable = _chattr("+i", db, folder)
    if not immutable:
        db.chmod(0o444)
        folder.chmod(0o555)
    try:
        if os.access(db, os.W_OK) or os.access(folder, os.W_OK):
            pytest.skip("cannot make a read-only folder here (no chattr +i, and running as root)")
        yield db
    finally:
        if immutable:
            _chattr("-i", db, folder)
        folder.chmod(0o755)
        db.chmod(0o644)


def test_a_read_only_database_can_be_read(read_only_db: Path) -> None:
    """show, history, verify and queue work on read-only media; a write says it is read-only."""
    store = SQLiteStore(read_only_db)
    engine = _engine(store)
    assert engine.show("access-1").state == "in_progress"
    assert [e.trigger for e in engine.history("access-1")] == [None, "begin"]
    assert engine.verify().ok
    assert [i.id for i in engine.queue().in_progress] == ["access-1"]
    with pytest.raises(StoreError, match=r"is read-only .* copy it to a writable folder"):
        engine.fire("access-1", "log_call", {"outcome": "reached"}, **OPS)
    store.close()
    assert sorted(p.name for p in read_only_db.parent.iterdir()) == ["f.db"]


def test_the_cli_reads_a_read_only_database(read_only_db: Path) -> None:
    """The reading commands exit 0 on read-only media; `fire` exits non-zero, one line."""
    for args in (["show", "access-1"], ["history", "access-1"], ["verify"], ["queue"]):
        result = _cli(read_only_db, *args)
        assert result.exit_code == 0, (args, result.output)
    assert "access-1" in _cli(read_only_db, "show", "access-1").output
    fired = _cli(read_only_db, "fire", "access-1", "begin", "--as", "sam:ops_specialist")
    assert fired.exit_code != 0 and isinstance(fired.exception, SystemExit)
    assert "read-only" in fired.output and "Traceback" not in fired.output


# a writer holding the lock ---------------------------------------------------------------------
@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A database with one instance while another connection holds its write lock."""
    db = tmp_path / "f.db"
    store = SQLiteStore(db)
    _engine(store).start("access", CLIENT)
    store.close()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE counters SET value = value + 100")
    try:
        yield db
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def _impatient(db: Path) -> SQLiteStore:
    """A store that does not wait for a lock at all: needing one fails at once."""
    return SQLiteStore(db, busy_timeout_ms=0)


def test_readers_do_not_wait_for_a_writer(locked: Path) -> None:
    """Opening, show, history, verify and queue need no write lock while a writer works."""
    store = _impatient(locked)
    engine = _engine(store)
    assert engine.show("access-1").state == "new"
    assert len(engine.history("access-1")) == 1
    assert engine.verify().ok
    assert [i.id for i in engine.queue().ready] == ["access-1"]
    store.close()


def test_the_cli_shows_while_a_writer_works(locked: Path) -> None:
    """`fulfil show` and `history` answer at once while another process holds the write lock."""
    for args in (["show", "access-1"], ["history", "access-1"], ["queue"]):
        result = _cli(locked, *args)
        assert result.exit_code == 0, (args, result.output)


def test_a_writer_behind_a_writer_is_told_plainly(locked: Path) -> None:
    """A write that cannot get the lock in time says the database is busy, and to try again."""
    store = _impatient(locked)
    with pytest.raises(StoreError, match="is busy: another fulfil process is writing; try again"):
        _engine(store).start("access", CLIENT)
    store.close()
