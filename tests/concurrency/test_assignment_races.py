"""Two engines claiming or assigning the same work at once, on one SQLite file and on one
PostgreSQL schema: exactly one wins, the other gets a clear conflict naming the winner.

On PostgreSQL both engines are held after reading the instance until both have read it, so
their writes really race on the revision (compare-and-set) and the loser's retry finds the
assignee changed; SQLite's write lock serialises the two transactions, so the second reads
what the first wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.people import PeopleDirectory, Person
from fulfil.engine.runtime import AlreadyAssigned, Engine
from fulfil.engine.store import SQLiteStore, Store
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

CARE = Path(__file__).parents[1] / "runtime" / "cases" / "care.yaml"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEAM = PeopleDirectory.of(
    (
        Person("ana", "Ana", "ana@example.com", ("agent",), "lee"),
        Person("bo", "Bo", "bo@example.com", ("agent",), "lee"),
        Person("lee", "Lee", "lee@example.com", ("lead",), None),
    )
)


class _HeldTransaction:
    """A transaction whose first instance read waits at a barrier (one wait per thread)."""

    def __init__(self, tx: Any, store: _HeldStore) -> None:
        self._tx, self._barrier, self._done = tx, store.barrier, store.done
        self._armed = store.armed

    def get_instance(self, instance_id: str) -> Any:
        found = self._tx.get_instance(instance_id)
        if self._armed and not getattr(self._done, "waited", False):
            self._done.waited = True
            self._barrier.wait(timeout=30)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


class _HeldStore:
    """A store whose write transactions, once `armed`, hold after their first read (see
    `_HeldTransaction`)."""

    def __init__(self, store: Store, barrier: threading.Barrier) -> None:
        self.store, self.barrier, self.done = store, barrier, threading.local()
        self.url = store.url
        self.armed = False

    @contextmanager
    def _held(self, write: bool) -> Iterator[Any]:
        with self.store.transaction(write=write) as tx:
            yield _HeldTransaction(tx, self) if write else tx

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Any]:
        return self._held(write)

    def upgrade(self) -> list[int]:
        return self.store.upgrade()

    def close(self) -> None:
        self.store.close()


def _engine(store: Any) -> Engine:
    catalog = Catalog((load_file(CARE).process,))
    return Engine(catalog, store=store, clock=ManualClock(T0), people=TEAM)


Act = Callable[[Engine, str], object]
CLAIM_ANA: Act = lambda engine, case: engine.claim(case, actor="ana")  # noqa: E731
CLAIM_BO: Act = lambda engine, case: engine.claim(case, actor="bo")  # noqa: E731
ASSIGN_BO: Act = lambda engine, case: engine.assign(case, "bo", actor="lee")  # noqa: E731


def _race(stores: tuple[Any, Any], first: Act, second: Act) -> list[object]:
    """Run `first` and `second` at once on two engines; each result or the error raised."""
    engines = [_engine(s) for s in stores]
    case = engines[0].start("care", actor="ana", role="agent").id
    for store in stores:
        if isinstance(store, _HeldStore):
            store.armed = True  # from now on each engine holds after its first read
    results: list[object] = [None, None]

    def run(index: int, act: Act) -> None:
        try:
            results[index] = act(engines[index], case)
        except Exception as exc:  # the loser's error is the result under test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    events = engines[0].history(case)
    assert [e.kind for e in events].count("assignment") == 1  # one winner, recorded once
    assert engines[0].verify(case).problems == ()
    return results


def _one_won(results: list[object], winner_of: dict[int, str]) -> None:
    won = [i for i, r in enumerate(results) if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], AlreadyAssigned)
    assert winner_of[won[0]] in str(lost[0])


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    path = tmp_path / "race.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def postgres_pair() -> Iterator[tuple[Any, Any]]:
    require_server()
    from fulfil.engine.store.postgres import PostgresStore

    schema = new_schema()
    url = with_schema(URL, schema)
    setup = PostgresStore(url)
    setup.upgrade()
    setup.close()
    barrier = threading.Barrier(2)
    pair = (_HeldStore(PostgresStore(url), barrier), _HeldStore(PostgresStore(url), barrier))
    yield pair
    for store in pair:
        store.close()
    drop_schema(schema)


@pytest.mark.parametrize("pair", ["sqlite_pair", "postgres_pair"])
def test_two_claims_at_once_one_wins_the_other_is_told_who(
    pair: str, request: pytest.FixtureRequest
) -> None:
    """Ana and Bo claim the same case at once: one holds it, the other gets AlreadyAssigned."""
    stores = request.getfixturevalue(pair)
    results = _race(stores, CLAIM_ANA, CLAIM_BO)
    _one_won(results, {0: "ana", 1: "bo"})


def test_a_claim_racing_a_lead_assignment_one_wins(postgres_pair: tuple[Any, Any]) -> None:
    """Ana claims while the lead assigns Bo, both having read the case unassigned: one change
    wins, the other is a clear conflict (never a silent overwrite of what it did not see).

    Only PostgreSQL lets the two read before either writes: on SQLite the lead's assignment
    comes after the claim and reassigns the work, as a lead may."""
    results = _race(postgres_pair, CLAIM_ANA, ASSIGN_BO)
    _one_won(results, {0: "ana", 1: "bo"})
