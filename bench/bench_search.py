"""Search benchmark: one filtered page of `Engine.search` over 1M instances, next to the bare
SQL of the same page, measured in the same run, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_search.py [--size N] [--quick] [--no-postgres]

The store is filled with N instances of one process (states `new`, `work`, `done` in turn,
one started per second, a tenth assigned) by bulk SQL. Then, per query, the median time of
`Engine.search(...)` for a page of 50 (views included: status, timers, SLA) against the bare
SQL statement the store runs for it (rows fetched, nothing decoded):

    state     process + state, newest first (index instances_state_created)
    open      process + open states (two states), newest changed first
    deep      the `state` page 20,000 rows in (keyset cursor) against the bare SQL with
              OFFSET 20000, the paging the cursor replaces
    assignee  one person's work, newest first

What to read: the ratio engine / bare SQL (the engine's cost of building 50 views on top of an
indexed read), and the absolute milliseconds, which stay flat with N because the page is read
from an index.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_text
from fulfil.engine.runtime import Engine
from fulfil.engine.runtime.search import SearchRequest, plan_search
from fulfil.engine.store.base import to_iso
from fulfil.engine.store.search_sql import search_sql
from fulfil.engine.store.sqlite import SQLiteStore

T0 = datetime(2025, 1, 1, tzinfo=UTC)
STATES = ("new", "work", "done")
DEFAULT_URL = os.environ.get(
    "FULFIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
PROCESS = """
id: bench
version: 1
fields:
  client: {type: string, required: true}
  n: {type: int, default: 0}
states:
  new: {initial: true, status: New, queue: desk}
  work: {status: In Progress, queue: desk}
  done: {terminal: true, status: Closed, closure_reason: Complete}
transitions:
  - {trigger: begin, source: new, dest: work}
  - {trigger: finish, source: work, dest: done}
"""
QUERIES: dict[str, dict[str, Any]] = {
    "state": {"process": "bench", "state": "work"},
    "open": {"process": "bench", "open": True, "sort": "-updated_at"},
    "assignee": {"assignee": "p7"},
}


def rows(size: int) -> Iterator[tuple[Any, ...]]:
    for n in range(size):
        at = to_iso(T0 + timedelta(seconds=n))
        changed = to_iso(T0 + timedelta(seconds=n + (n * 7919) % 86_400))
        yield (
            f"bench-{n:07d}",
            "bench",
            1,
            STATES[n % 3],
            f'{{"client":"C{n}","n":{n % 100}}}',
            None,
            None,
            1,
            1,
            "",
            at,
            changed,
            changed,
            1,
            f"p{n % 10}" if n % 10 == 7 else None,
        )


INSERT = (
    "INSERT INTO instances (id, process, version, state, data, parent, task, rev, seq, head, "
    "created_at, updated_at, last_activity_at, format_version, assignee) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def timed(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(
    engine: Engine, bare: Callable[[str, list[Any]], object], label: str, rounds: int
) -> None:
    catalog = engine.catalog
    processes = list(catalog)  # type: ignore[call-overload]
    print(f"-- {label}")
    for name, filters in QUERIES.items():
        request = SearchRequest(**filters)
        sql, params = search_sql(plan_search(request, processes).query, 51, "?")
        engine_s = timed(lambda r=request: engine.search(r), rounds)  # type: ignore[misc]
        bare_s = timed(lambda s=sql, p=params: bare(s, p), rounds)  # type: ignore[misc]
        print(
            f"{name:9s} engine {engine_s * 1000:7.2f} ms   bare SQL {bare_s * 1000:7.2f} ms   "
            f"ratio {engine_s / bare_s:5.1f}x"
        )
    # a deep page: the keyset cursor against OFFSET
    request = SearchRequest(process="bench", state="work", limit=500)
    cursor = None
    for _ in range(40):  # 40 pages of 500: 20,000 rows in
        cursor = engine.search(
            request
            if cursor is None
            else SearchRequest(process="bench", state="work", limit=500, cursor=cursor)
        ).next
    deep = SearchRequest(process="bench", state="work", cursor=cursor)
    sql, params = search_sql(plan_search(deep, processes).query, 51, "?")
    first_sql, first_params = search_sql(
        plan_search(SearchRequest(process="bench", state="work"), processes).query, 51, "?"
    )
    offset_sql = first_sql.replace("LIMIT ?", "LIMIT ? OFFSET 20000")
    engine_s = timed(lambda: engine.search(deep), rounds)
    keyset_s = timed(lambda: bare(sql, params), rounds)
    offset_s = timed(lambda: bare(offset_sql, first_params), rounds)
    print(
        f"deep      engine {engine_s * 1000:7.2f} ms   bare SQL {keyset_s * 1000:7.2f} ms   "
        f"ratio {engine_s / keyset_s:5.1f}x   (bare SQL with OFFSET 20000: "
        f"{offset_s * 1000:.2f} ms, {offset_s / keyset_s:.0f}x the keyset read)"
    )


def catalog() -> Catalog:
    return Catalog((load_text(PROCESS).process,))


def bench_sqlite(size: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "search.db")
        began = time.perf_counter()
        store.execute("BEGIN")
        store._conn.executemany(INSERT, rows(size))
        store.execute("COMMIT")
        store.execute("ANALYZE")
        print(f"(filled {size:,} instances in {time.perf_counter() - began:.0f} s)")
        engine = Engine(catalog(), store=store, clock=ManualClock(T0))

        def bare(sql: str, params: list[Any]) -> object:
            return store.execute(sql, params)

        measure(engine, bare, f"SQLite, {size:,} instances", rounds)
        store.close()


def bench_postgres(url: str, size: int, rounds: int) -> None:
    import psycopg
    from fulfil.engine.store.postgres import PostgresStore, split_url

    schema = f"fulfil_bench_{secrets.token_hex(4)}"
    full = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    try:
        store = PostgresStore(full)
    except Exception as exc:
        print(f"-- PostgreSQL skipped: {exc}")
        return
    try:
        store.upgrade()
        began = time.perf_counter()
        with (
            store._conn.cursor() as cur,
            cur.copy(
                "COPY instances (id, process, version, state, data, parent, task, rev, seq, head, "
                "created_at, updated_at, last_activity_at, format_version, assignee) FROM STDIN"
            ) as copy,
        ):
            for row in rows(size):
                copy.write_row(row)
        store.execute("ANALYZE instances")
        print(f"(filled {size:,} instances in {time.perf_counter() - began:.0f} s)")
        engine = Engine(catalog(), store=store, clock=ManualClock(T0))
        conninfo, _ = split_url(full)
        conn = psycopg.connect(conninfo, autocommit=True)
        conn.execute(f'SET search_path TO "{schema}"')

        def bare(sql: str, params: list[Any]) -> object:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()

        measure(engine, bare, f"PostgreSQL, {size:,} instances", rounds)
        conn.close()
    finally:
        store.close()
        with psycopg.connect(split_url(url)[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 instances, fewer rounds")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    size = 100_000 if args.quick else args.size
    rounds = 5 if args.quick else 15
    bench_sqlite(size, rounds)
    if not args.no_postgres:
        bench_postgres(args.url, size, rounds)


if __name__ == "__main__":
    main()
