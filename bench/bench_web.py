"""Workbench benchmark, in one run:

    .venv/bin/python bench/bench_web.py [--quick]

1. API fire over HTTP against the Python API fire on the same SQLite file. A toggle process
   fired back and forth as a person of a directory: once through `Engine.fire`, once as
   `POST /api/instances/{id}/fire` with a bearer token to the workbench under uvicorn on
   127.0.0.1 (one keep-alive connection). Rounds alternate; the figure is the median of the
   rounds' throughput ratios (HTTP / Python). Target: at least 0.5x.
2. My work with 100,000 stored instances: the server time of `GET /` (the digms_ops queue, its
   first page and a page deep in it), median of the requests, against the bare SQL the page
   needs (the keyset page query per (process, state), the same LIMIT). Target: median under
   100 ms.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.loader import Catalog, load_directory, load_text
from fulfil.engine.people import PeopleDirectory, Person, load_people
from fulfil.engine.runtime import Engine
from fulfil.engine.store import InstanceRecord, SQLiteStore
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUICK = "--quick" in sys.argv
PROCESS = """
id: toggle
version: 1
roles:
  clerk: {title: Clerk}
fields:
  n: {type: int, default: 0}
states:
  a: {initial: true}
  b: {}
  done: {terminal: true}
transitions:
  - {trigger: go, source: a, dest: b, roles: [clerk], actions: [{set: {n: "n + 1"}}]}
  - {trigger: back, source: b, dest: a, roles: [clerk], actions: [{set: {n: "n + 1"}}]}
  - {trigger: finish, source: [a, b], dest: done, roles: [clerk]}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(engine: Engine) -> tuple[int, object]:
    import uvicorn

    port = free_port()
    app = create_app(engine, WebConfig(secret=b"bench"))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return port, server


def fire_ratio(folder: Path) -> None:
    catalog = Catalog((load_text(PROCESS, "toggle.yaml").process,))
    people = PeopleDirectory.of([Person("sam", "Sam Lee", "sam@example.com", ("clerk",))])
    store = SQLiteStore(folder / "fire.db")
    engine = Engine(catalog, store=store, clock=ManualClock(T0), people=people)
    engine.start("toggle", id="py", actor="sam")
    engine.start("toggle", id="web", actor="sam")
    token = Credentials(store, engine.clock, people).new_token("sam")
    port, server = serve(engine)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.connect()
    # one packet per request: without it Nagle's algorithm and the delayed ACK add ~40 ms
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 100 if QUICK else 400
    at = {"py": "a", "web": "a"}

    def python_fires() -> float:
        started = time.perf_counter()
        for _ in range(n):
            trigger = "go" if at["py"] == "a" else "back"
            engine.fire("py", trigger, actor="sam")
            at["py"] = "b" if trigger == "go" else "a"
        return n / (time.perf_counter() - started)

    def http_fires() -> float:
        started = time.perf_counter()
        for _ in range(n):
            trigger = "go" if at["web"] == "a" else "back"
            conn.request(
                "POST",
                "/api/instances/web/fire",
                json.dumps({"trigger": trigger}).encode(),
                headers,
            )
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            at["web"] = "b" if trigger == "go" else "a"
        return n / (time.perf_counter() - started)

    python_fires(), http_fires()  # warm up
    ratios, py_rates, web_rates = [], [], []
    for round_ in range(3 if QUICK else 7):
        if round_ % 2:
            web, py = http_fires(), python_fires()
        else:
            py, web = python_fires(), http_fires()
        ratios.append(web / py)
        py_rates.append(py)
        web_rates.append(web)
    conn.close()
    server.should_exit = True  # type: ignore[attr-defined]
    ratio = statistics.median(ratios)
    print(
        f"API fire over HTTP: {statistics.median(web_rates):,.0f} fires/s, Python API "
        f"{statistics.median(py_rates):,.0f} fires/s on the same SQLite file: "
        f"{ratio:.2f}x (target >= 0.5x) {'OK' if ratio >= 0.5 else 'MISSED'}"
    )
    store.close()


STATES = ("new", "in_progress", "waiting_next_call", "escalated", "closed", "on_hold")


def fill(store: SQLiteStore, count: int) -> None:
    """`count` facebook_access rows written straight into the store (the page reads rows)."""
    with store.transaction() as tx:
        for i in range(count):
            at = T0 + timedelta(seconds=i)
            data = {
                "client": f"Client {i}",
                "client_email": f"c{i}@example.com",
                "fr_number": f"FR-{i}",
                "attempt": 0,
                "priority": "normal",
                "category": "Digital Advertising",
            }
            record = InstanceRecord(
                f"fb-{i + 1}",
                "facebook_access",
                1,
                STATES[i % len(STATES)],
                data,
                at,
                at,
                at,
            )
            tx.insert_instance(record)


def worklist(folder: Path) -> None:
    from fastapi.testclient import TestClient

    count = 10_000 if QUICK else 100_000
    catalog = load_directory(ROOT / "processes")
    people = load_people(ROOT / "processes" / "people.yaml", catalog)
    store = SQLiteStore(folder / "worklist.db")
    clock = ManualClock(T0 + timedelta(days=30))
    engine = Engine(catalog, store=store, clock=clock, people=people)
    engine.start(
        "facebook_access",
        {"client": "A", "client_email": "a@a.example", "fr_number": "FR-0"},
        actor="alex",
    )  # stores the definition
    fill(store, count)
    app = create_app(engine, WebConfig(secret=b"bench"))
    client = TestClient(app)
    token = Credentials(store, clock, people).new_token("sam")
    Credentials(store, clock, people).set_password("sam", "bench password")
    page = client.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    client.post("/login", data={"username": "sam", "password": "bench password", "csrf": csrf})
    deep = client.get(
        "/api/instances?process=facebook_access&state=in_progress&limit=500",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["next"]

    def timed(url: str) -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and "/instances/" in response.text, response.text
        return elapsed

    urls = ["/?queue=digms_ops", f"/?queue=digms_ops&progress_after={deep}"]
    for url in urls:
        timed(url)
    runs = 5 if QUICK else 15
    pages = [timed(url) for _ in range(runs) for url in urls]

    raw = sqlite3.connect(folder / "worklist.db")
    columns = "id, process, version, state, data, last_activity_at, assignee"

    def bare() -> float:
        started = time.perf_counter()
        for state in STATES[:4]:
            raw.execute(
                f"SELECT {columns} FROM instances WHERE process = ? AND state = ? "
                "ORDER BY last_activity_at, id LIMIT 26",
                ("facebook_access", state),
            ).fetchall()
        return time.perf_counter() - started

    bare()
    queries = [bare() for _ in range(runs * 2)]
    page_ms = statistics.median(pages) * 1000
    sql_ms = statistics.median(queries) * 1000
    print(
        f"My work with {count:,} instances: median {page_ms:.1f} ms a page (first and deep), "
        f"the bare SQL it needs {sql_ms:.2f} ms ({page_ms / sql_ms:.0f}x); target < 100 ms "
        f"{'OK' if page_ms < 100 else 'MISSED'}"
    )
    raw.close()
    store.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        fire_ratio(Path(folder))
        worklist(Path(folder))


if __name__ == "__main__":
    main()
