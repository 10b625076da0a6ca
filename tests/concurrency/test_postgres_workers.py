"""Several worker processes on one PostgreSQL database: exactly-once timers, no lost updates,
and a worker killed with SIGKILL losing and doubling nothing.

Each test runs real processes (`pg_worker.py`) against a schema of its own on the test server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fulfil.engine.store.base import to_iso
from pg_worker import LATER, T0, engine
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

WORKER = Path(__file__).parent / "pg_worker.py"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def url() -> Iterator[str]:
    """A fresh schema, upgraded, holding one started instance (so the definition is stored)."""
    require_server()
    schema = new_schema()
    made = with_schema(URL, schema)
    eng = engine(made)
    eng.store.upgrade()
    eng.start("counter", id="seed")
    eng.store.close()
    yield made
    drop_schema(schema)


def psql(url: str) -> object:
    """A psycopg connection to the test schema (autocommit)."""
    import psycopg
    from fulfil.engine.store.postgres import split_url

    conninfo, schema = split_url(url)
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute(f'SET search_path TO "{schema}"')
    return conn


def armed_instances(url: str, count: int, state: str = "armed", timers: bool = True) -> None:
    """Insert `count` instances in `state` (and their due `ring` timers) in bulk, with COPY."""
    now = to_iso(T0)
    due = to_iso(T0 + (LATER - T0) / 2)
    with psql(url) as conn, conn.cursor() as cur:  # type: ignore[attr-defined]
        with cur.copy(
            "COPY instances (id, process, version, state, data, parent, task, rev, seq, head, "
            "created_at, updated_at, last_activity_at, format_version) FROM STDIN"
        ) as copy:
            for n in range(count):
                row = (f"c-{n}", "counter", 1, state, '{"count":0}', None, None, 1, 0, "")
                copy.write_row((*row, now, now, now, 1))
        if timers:
            with cur.copy(
                "COPY timers (instance, name, state, trigger_name, due_at, data, created_at) "
                "FROM STDIN"
            ) as copy:
                for n in range(count):
                    copy.write_row((f"c-{n}", "ring", "armed", "ring", due, "{}", now))


def lanes_whole(url: str) -> tuple[int, int]:
    """Assert the store-wide event sequence has no hole; (events placed, lanes used)."""
    from fulfil.engine.runtime.lanes import check_lanes
    from fulfil.engine.store.postgres import PostgresStore

    store = PostgresStore(url)
    try:
        with store.transaction(write=False) as tx:
            problems, placed = check_lanes(tx)
            used = sum(1 for lane in tx.lanes() if lane.pos)
    finally:
        store.close()
    assert [str(p) for p in problems] == []
    return placed, used


Starter = Callable[[str, list[list[str]]], list[subprocess.Popen[str]]]


@pytest.fixture
def run_workers() -> Iterator[Starter]:
    """Starts worker processes (one per argument list); kills any still running at the end."""
    started: list[subprocess.Popen[str]] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(url: str, args: list[list[str]]) -> list[subprocess.Popen[str]]:
        procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), *a[:1], url, *a[1:]],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for a in args
        ]
        started.extend(procs)
        return procs

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def results(workers: list[subprocess.Popen[str]], timeout: float = 90) -> list[dict[str, int]]:
    """Each worker's JSON line, once all ended well."""
    out = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=timeout)
        assert worker.returncode == 0, stderr
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def timer_events(url: str) -> dict[str, int]:
    """How many `timer` history events each instance has."""
    with psql(url) as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            "SELECT instance, count(*) FROM events WHERE kind = 'timer' GROUP BY instance"
        ).fetchall()
    return {instance: int(n) for instance, n in rows}


@pytest.mark.parametrize("count", [1_000, pytest.param(10_000, marks=pytest.mark.slow)])
def test_four_workers_fire_due_timers_exactly_once(
    url: str, run_workers: Starter, count: int
) -> None:
    """4 workers and `count` due timers: every timer fired once, by exactly one worker."""
    armed_instances(url, count)
    fired = results(run_workers(url, [["tick"]] * 4))
    assert sum(r["fired"] for r in fired) == count
    events = timer_events(url)
    assert len(events) == count and set(events.values()) == {1}
    with psql(url) as conn:  # type: ignore[attr-defined]
        left = conn.execute("SELECT count(*) FROM timers WHERE fired_at IS NULL").fetchone()
        counts = conn.execute(
            "SELECT count(*) FROM instances WHERE state = 'rung' AND data = '{\"count\":1}'"
        ).fetchone()
    assert left == (0,) and counts == (count,)
    assert sum(1 for r in fired if r["fired"] > 0) >= 2  # the work was shared


@pytest.mark.parametrize("fires", [50, pytest.param(150, marks=pytest.mark.slow)])
def test_eight_workers_bumping_the_same_instances_lose_no_update(
    url: str, run_workers: Starter, fires: int
) -> None:
    """8 processes firing `bump` at 100 instances: the counters sum to the successful fires."""
    armed_instances(url, 100, state="open", timers=False)
    got = results(
        run_workers(
            url,
            [["bump", "--fires", str(fires), "--seed", str(s), "--retries", "1"] for s in range(8)],
        )
    )
    ok = sum(r["ok"] for r in got)
    assert ok + sum(r["conflicts"] for r in got) == 8 * fires
    with psql(url) as conn:  # type: ignore[attr-defined]
        (total,) = conn.execute(
            "SELECT sum((data::json->>'count')::int) FROM instances WHERE id LIKE 'c-%'"
        ).fetchone()
        (moves,) = conn.execute(
            "SELECT count(*) FROM events WHERE instance LIKE 'c-%' AND trigger_name = 'bump'"
        ).fetchone()
        (bad,) = conn.execute(
            "SELECT count(*) FROM instances WHERE id LIKE 'c-%' AND seq <> "
            "(SELECT count(*) FROM events e WHERE e.instance = instances.id)"
        ).fetchone()
    assert total == ok == moves
    assert bad == 0
    # conflicts rolled back transactions that had taken a lane position: no hole, no alarm
    placed, used = lanes_whole(url)
    assert placed == ok + 1 and used >= 2  # + the start of `seed`; writers took lanes in parallel


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(url: str, run_workers: Starter) -> None:
    """SIGKILL a worker mid-transaction: the others fire everything once, the lanes stay whole.

    The victim sleeps half a second inside each of its transactions, so whenever it is killed
    it is almost surely inside one (holding a claimed timer and a lane position); the others
    are quick. What is asserted is the outcome, whatever the moment of the kill: every timer
    fired exactly once, none left, no hole in the store-wide sequence.
    """
    armed_instances(url, 600)
    [victim] = run_workers(url, [["tick", "--slow", "0.5"]])
    others = run_workers(url, [["tick", "--slow", "0.002"]] * 2)
    deadline = time.monotonic() + 30
    with psql(url) as conn:  # type: ignore[attr-defined]
        while time.monotonic() < deadline and victim.poll() is None:  # the others well under way
            (left,) = conn.execute("SELECT count(*) FROM timers WHERE fired_at IS NULL").fetchone()
            if left < 450:
                break
            time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert victim.returncode in (-signal.SIGKILL, 0)  # 0: it had already finished the work
    results(others)
    events = timer_events(url)
    assert len(events) == 600 and set(events.values()) == {1}
    with psql(url) as conn:  # type: ignore[attr-defined]
        (left,) = conn.execute("SELECT count(*) FROM timers WHERE fired_at IS NULL").fetchone()
    assert left == 0
    assert lanes_whole(url)[0] == 601  # a killed transaction's lane position came back
