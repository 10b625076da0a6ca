"""Ticks and the worker across processes, and outbox delivery to a real local SMTP server."""

from __future__ import annotations

import email
import email.policy
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.messages.adapters import adapter_from_env
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
from runtime_support import FIXTURES, T0

ROOT = Path(__file__).resolve().parents[2]
TICKER = """
import json, sys
from fulfil.engine.clock import ManualClock, parse_now
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import SQLiteStore
catalog = Catalog((load_file(sys.argv[2]).process,))
store = SQLiteStore(sys.argv[1])
engine = Engine(catalog, store=store, clock=ManualClock(parse_now(sys.argv[3])))
fired = engine.tick()
print(json.dumps([f.instance for f in fired if f.refused is None]))
"""


def seeded(path: Path, count: int) -> list[str]:
    """`count` instances of `timed` in `waiting`, each with its 90m timer (due 90m after T0)."""
    catalog = Catalog((load_file(FIXTURES / "timed.yaml").process,))
    store = SQLiteStore(path)
    engine = Engine(catalog, store=store, clock=ManualClock(T0))
    ids = []
    for n in range(count):
        instance = engine.start("timed", {"name": f"n{n}"}).id
        engine.fire(instance, "wait")
        ids.append(instance)
    store.close()
    return ids


def test_two_processes_ticking_one_file_fire_each_timer_once(tmp_path: Path) -> None:
    """Two OS processes tick the same SQLite file at once: every due timer fires exactly once."""
    path = tmp_path / "race.db"
    ids = seeded(path, 300)
    now = (T0 + timedelta(minutes=100)).isoformat()
    args = [sys.executable, "-c", TICKER, str(path), str(FIXTURES / "timed.yaml"), now]
    runs = [subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert sorted(outputs[0] + outputs[1]) == sorted(ids)
    # (whether both got a share depends on scheduling; the count below is what must hold)
    store = SQLiteStore(path)
    [(events,)] = store.execute("SELECT COUNT(*) FROM events WHERE kind = 'timer'")
    store.close()
    assert events == len(ids)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    processes = tmp_path / "processes"
    processes.mkdir(exist_ok=True)
    shutil.copy(FIXTURES / "timed.yaml", processes / "timed.yaml")
    return {
        **os.environ,
        "FULFIL_DB": f"sqlite:///{tmp_path / 'w.db'}",
        "FULFIL_PROCESSES": str(processes),
        "FULFIL_OUTBOX_FILE": str(tmp_path / "outbox.jsonl"),
        **extra,
    }


def lines_within(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """The first `count` lines `process` prints; if they are not all there within `timeout`
    seconds, the process is killed and the test fails saying what came (a hung worker fails
    the test, it never hangs the run)."""
    assert process.stdout is not None
    stdout = process.stdout
    got: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(count):
            got.put(stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        try:
            lines.append(got.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            process.kill()
            process.wait()
            reader.join(timeout=5)
            pytest.fail(f"{len(lines)} of {count} lines within {timeout} s: {lines!r}")
    reader.join()
    return lines


def test_a_silent_worker_fails_the_test_instead_of_hanging_it() -> None:
    """A process that prints less than awaited is killed at the deadline; the test fails."""
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; print('one', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"[01] of 2 lines within 2 s"):
        lines_within(silent, 2, timeout=2)
    assert silent.returncode is not None and time.monotonic() - started < 60
    assert silent.stdout is not None
    silent.stdout.close()


def test_worker_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    """`fulfil worker` prints one line per fired timer and ends cleanly on SIGTERM."""
    ids = seeded(tmp_path / "w.db", 3)
    env = cli_env(tmp_path, FULFIL_NOW=(T0 + timedelta(minutes=100)).isoformat())
    worker = subprocess.Popen(
        [sys.executable, "-m", "fulfil.cli", "worker", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = lines_within(worker, len(ids), timeout=60)
    worker.send_signal(signal.SIGTERM)
    rest, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0
    # one log line each: time, level, logger, the report, instance= and trigger=
    assert sorted(line.split()[4] for line in lines) == sorted(ids)
    assert all(" short (ping) -> waiting" in line for line in lines)
    assert all(line.split()[1:3] == ["INFO", "fulfil.worker"] for line in lines)
    assert all(f"instance={line.split()[4]} trigger=ping" in line for line in lines)
    assert rest.strip().splitlines()[-1].endswith("INFO fulfil.worker worker stopped")


def test_worker_once_fires_and_delivers(tmp_path: Path) -> None:
    """`fulfil worker --once` fires the due SLA notice and delivers it, then exits."""
    env = cli_env(tmp_path, FULFIL_NOW=T0.isoformat())
    run = [sys.executable, "-m", "fulfil.cli"]
    start = subprocess.run(
        [*run, "start", "timed", "--data", '{"name": "Ann"}'],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    instance = start.stdout.strip()
    subprocess.run(
        [*run, "fire", instance, "begin"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    env["FULFIL_NOW"] = (T0 + timedelta(days=1)).isoformat()
    done = subprocess.run(
        [*run, "worker", "--once"], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    lines = done.stdout.splitlines()
    assert f"{instance} sla.overdue" in lines[0]
    assert [line.split()[5] for line in lines[1:-1]] == ["[sent]"]  # then "worker stopped"
    sent = [json.loads(x) for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert [m["channel"] for m in sent] == ["email"]
    listing = subprocess.run(
        [*run, "outbox"], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert listing.stdout.count("[sent]") == 1 and "attempts 1" in listing.stdout
    # no people directory, so no phone: the cell phone alert is stored failed, saying why
    assert listing.stdout.count("[failed]") == 1 and "people directory" in listing.stdout


# --- SMTP -------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Inbox]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("FULFIL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FULFIL_SMTP_PORT", str(port))
    monkeypatch.setenv("FULFIL_SMTP_FROM", "fulfil@ops.example.com")
    monkeypatch.setenv("FULFIL_OUTBOX_FILE", str(tmp_path / "sms.jsonl"))
    try:
        yield handler
    finally:
        controller.stop()


def test_batch_csv_arrives_as_an_attachment_over_smtp(inbox: Inbox, tmp_path: Path) -> None:
    """A batch's messages reach a real SMTP server with the CSV attached, each exactly once."""
    catalog = Catalog((load_file(FIXTURES / "timed.yaml").process,))
    clock = ManualClock(T0)
    engine = Engine(catalog, store=SQLiteStore(tmp_path / "m.db"), clock=clock)
    for name in ("Ann", "Bob"):
        instance = engine.start("timed", {"name": name, "address": f"1 {name} Road"}).id
        engine.fire(instance, "list")
    engine.tick(T0 + timedelta(days=7))
    adapter = adapter_from_env()
    delivered = engine.deliver(adapter)
    assert [m.status for m in delivered] == ["sent", "sent"]
    assert engine.deliver(adapter) == []
    time.sleep(0.1)
    assert sorted(m["To"] for m in inbox.received) == ["owner@example.com", "printer@example.com"]
    printer = next(m for m in inbox.received if m["To"] == "printer@example.com")
    assert printer["Subject"] == "Packages to send"
    assert printer["Message-ID"] == "<fulfil.outbox-1@ops.example.com>"
    [part] = list(printer.iter_attachments())
    assert part.get_filename() == "timed-listed-2026-03-02T0800.csv"
    assert part.get_content_type() == "text/csv"
    text = part.get_payload(decode=True).decode("utf-8")
    assert text == "name,address\r\nAnn,1 Ann Road\r\nBob,1 Bob Road\r\n"
    body = printer.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content().strip() == "Please send these."
    engine.store.close()


def test_sms_goes_to_the_fallback_and_refused_mail_is_failed(
    inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SMTP configured an SLA's sms (to the owner's phone) uses the local adapter; a
    closed port is retried."""
    catalog = Catalog((load_file(FIXTURES / "timed.yaml").process,))
    clock = ManualClock(T0)
    olive = Person(
        "olive", "Olive Grant", "olive@example.com", ("owner", "worker"), None, "+1 555 0142"
    )
    engine = Engine(
        catalog,
        store=SQLiteStore(tmp_path / "s.db"),
        clock=clock,
        people=PeopleDirectory.of([olive]),
    )
    instance = engine.start("timed", {"name": "Ann"}, actor="olive").id
    engine.fire(instance, "begin", actor="olive")
    engine.tick(T0 + timedelta(days=1))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("FULFIL_SMTP_PORT", str(closed))
    results = engine.deliver(adapter_from_env())
    assert [(m.channel, m.status) for m in results] == [("email", "pending"), ("sms", "sent")]
    assert "cannot deliver through SMTP server" in results[0].error
    [sms] = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert (sms["channel"], sms["to"]) == ("sms", ["+1 555 0142"])
    engine.store.close()
