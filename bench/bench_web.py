"""Workbench benchmark, in one run:

    .venv/bin/python bench/bench_web.py [--quick] [--fire] [--full]
    (--fire: part 1 only; --full: the SQLite file with synchronous=full, the production setting)

1. API fire over HTTP against the Python API fire on the same SQLite file. A toggle process
   fired back and forth as a person of a directory: through `Engine.fire`, and as
   `POST /api/instances/{id}/fire` with a bearer token to the workbench
   a. in-process: the ASGI application called by an httpx client (ASGI transport), no socket;
   b. under uvicorn in a server process of its own on 127.0.0.1 (one keep-alive connection,
      http.client), as `fulfil serve` runs it (uvicorn takes httptools and uvloop when they
      are installed).
   Rounds alternate the Python API and the transport; the figures are the medians of the
   per-fire times and of the rounds' throughput ratios (HTTP / Python). Target: at least 0.5x.
   The same for `GET /api/instances/{id}` (an authenticated read) against `Engine.show`.
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
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_directory, load_text
from fulfil.engine.people import PeopleDirectory, Person, load_people
from fulfil.engine.runtime import Engine
from fulfil.engine.store import InstanceRecord, SQLiteStore
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUICK = "--quick" in sys.argv
# --full: the SQLite file with synchronous=full, the production setting (every commit waits for
# the disk), on both sides of the comparison
SYNCHRONOUS = "full" if "--full" in sys.argv else "normal"
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


SERVER = """
import sys, uvicorn
sys.path.insert(0, {root!r})
from bench.bench_web import toggle_engine
from fulfil.engine.store import SQLiteStore
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
engine = toggle_engine(SQLiteStore({db!r}, synchronous={synchronous!r}))
app = create_app(engine, WebConfig(secret=b"bench"))
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
"""


def serve(db: Path) -> tuple[int, subprocess.Popen[bytes]]:
    """The workbench over `db` under uvicorn in a process of its own, once it answers."""
    port = free_port()
    code = SERVER.format(root=str(ROOT), db=str(db), port=port, synchronous=SYNCHRONOUS)
    server = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("the uvicorn server did not start")


def toggle_engine(store: SQLiteStore) -> Engine:
    catalog = Catalog((load_text(PROCESS, "toggle.yaml").process,))
    people = PeopleDirectory.of([Person("sam", "Sam Lee", "sam@example.com", ("clerk",))])
    return Engine(catalog, store=store, clock=ManualClock(T0), people=people)


class Toggle:
    """Fires `go` and `back` in turn on one instance, through some transport."""

    def __init__(self) -> None:
        self.at = "a"

    def next(self) -> str:
        trigger = "go" if self.at == "a" else "back"
        self.at = "b" if trigger == "go" else "a"
        return trigger


def timed_round(call: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


Round = Callable[[int], list[float]]


def calls(call: Callable[[], object]) -> Round:
    return lambda n: timed_round(call, n)


def compare(label: str, python: Round, http: Round, n: int, rounds: int) -> None:
    """Alternating rounds of the two; prints medians of the call times and of the ratios."""
    python(n // 4), http(n // 4)  # warm up
    py_times: list[float] = []
    web_times: list[float] = []
    ratios = []
    for round_ in range(rounds):
        if round_ % 2:
            web, py = http(n), python(n)
        else:
            py, web = python(n), http(n)
        ratios.append(statistics.median(py) / statistics.median(web))
        py_times += py
        web_times += web
    ratio = statistics.median(ratios)
    py_ms = statistics.median(py_times) * 1000
    web_ms = statistics.median(web_times) * 1000
    print(
        f"{label}: HTTP {web_ms:.3f} ms a call ({1000 / web_ms:,.0f}/s), Python API "
        f"{py_ms:.3f} ms ({1000 / py_ms:,.0f}/s): {ratio:.2f}x"
        + (f" (target >= 0.5x) {'OK' if ratio >= 0.5 else 'MISSED'}" if "fire" in label else "")
    )


def fire_ratio(folder: Path) -> None:
    import asyncio

    import httpx2

    db = folder / "fire.db"
    store = SQLiteStore(db, synchronous=SYNCHRONOUS)
    print(f"SQLite with synchronous={SYNCHRONOUS}")
    engine = toggle_engine(store)
    for name in ("py", "asgi", "uvicorn"):
        engine.start("toggle", id=name, actor="sam")
    assert engine.people is not None
    token = Credentials(store, engine.clock, engine.people).new_token("sam")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 100 if QUICK else 400
    rounds = 3 if QUICK else 7
    py_toggle = Toggle()

    def python_fire() -> object:
        return engine.fire("py", py_toggle.next(), actor="sam").to_json()

    def python_show() -> object:
        return engine.show("py").to_json()

    # a. in-process: the ASGI app called by an httpx client, rounds run on one event loop
    app = create_app(engine, WebConfig(secret=b"bench"))
    loop = asyncio.new_event_loop()
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://x")
    asgi_toggle = Toggle()

    def asgi_round(method: str, url: str, body: Callable[[], bytes | None]) -> Round:
        async def round_(n: int) -> list[float]:
            times = []
            for _ in range(n):
                started = time.perf_counter()
                response = await client.request(method, url, content=body(), headers=headers)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            return times

        return lambda n: loop.run_until_complete(round_(n))

    def asgi_fire_body() -> bytes:
        return json.dumps({"trigger": asgi_toggle.next()}).encode()

    fire_url = "/api/instances/asgi/fire"
    compare(
        "API fire, in-process (ASGI)",
        calls(python_fire),
        asgi_round("POST", fire_url, asgi_fire_body),
        n,
        rounds,
    )
    compare(
        "API show, in-process (ASGI)",
        calls(python_show),
        asgi_round("GET", "/api/instances/asgi", lambda: None),
        n,
        rounds,
    )
    loop.run_until_complete(client.aclose())
    loop.close()

    # b. uvicorn in a server process, one keep-alive connection
    port, server = serve(db)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.connect()
        # one packet per request: without it Nagle's algorithm and the delayed ACK add ~40 ms
        assert conn.sock is not None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wire_toggle = Toggle()

        def wire(method: str, url: str, body: bytes | None = None) -> None:
            conn.request(method, url, body, headers)
            response = conn.getresponse()
            text = response.read()
            assert response.status == 200, text

        def wire_fire() -> None:
            body = json.dumps({"trigger": wire_toggle.next()}).encode()
            wire("POST", "/api/instances/uvicorn/fire", body)

        compare("API fire, uvicorn on 127.0.0.1", calls(python_fire), calls(wire_fire), n, rounds)
        compare(
            "API show, uvicorn on 127.0.0.1",
            calls(python_show),
            calls(lambda: wire("GET", "/api/instances/uvicorn")),
            n,
            rounds,
        )
        conn.close()
    finally:
        server.terminate()
        server.wait()
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
        if "--fire" not in sys.argv:
            worklist(Path(folder))


if __name__ == "__main__":
    main()
