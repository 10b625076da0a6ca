"""A bulk cancel killed (SIGKILL) half-way: every instance is either cancelled and audited, or
untouched, and the whole store still verifies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
from ops_support import ACCESS, T0

COUNT = 150


def _cancelled(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM instances WHERE state = 'Cancelled'").fetchone()[0]
        )


def test_a_bulk_cancel_killed_half_way_leaves_each_instance_whole(tmp_path: Path) -> None:
    folder = tmp_path / "processes"
    folder.mkdir()
    (folder / "access.yaml").write_text(ACCESS.read_text())
    db = tmp_path / "bulk.db"
    store = SQLiteStore(db)
    engine = Engine(
        Catalog((load_file(folder / "access.yaml").process,)), store=store, clock=ManualClock(T0)
    )
    for n in range(COUNT):
        view = engine.start("access", {"client": f"C{n}", "client_email": "c@x.test"})
        engine.fire(view.id, "begin", actor="sam", role="ops_specialist")
    store.close()
    command = [
        sys.executable, "-m", "fulfil.cli", "--db", f"sqlite:///{db}", "--processes", str(folder),
        "--now", "2026-03-03T09:00:00Z",
        "cancel", "--process", "access", "--open", "--reason", "client left",
        "--as", "olga:operator",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("FULFIL_")}
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as err:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _cancelled(db) < COUNT // 4:
            if child.poll() is not None:
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, errors.read_text()
    done = _cancelled(db)
    assert 0 < done < COUNT, f"{done} of {COUNT} cancelled: the kill did not land half-way"
    store = SQLiteStore(db)
    engine = Engine(
        Catalog((load_file(folder / "access.yaml").process,)), store=store, clock=ManualClock(T0)
    )
    cancelled = untouched = 0
    for instance in store_ids(engine):
        view = engine.show(instance)
        events = engine.history(instance)
        interventions = [e for e in events if e.kind == "intervention"]
        if view.state == "Cancelled":
            assert [e.trigger for e in interventions] == ["cancel"]
            assert interventions[0].detail["reason"] == "client left"
            assert interventions[0].actor == "olga" and view.timers == ()
            cancelled += 1
        else:
            assert view.state == "in_progress" and interventions == []
            assert [t.name for t in view.timers] == ["next_call_due"]
            untouched += 1
    assert (cancelled, untouched) == (done, COUNT - done)
    assert engine.verify().problems == ()
    store.close()


def store_ids(engine: Engine) -> list[str]:
    with engine.store.transaction(write=False) as tx:
        return list(tx.instance_ids())
