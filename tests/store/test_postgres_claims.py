"""PostgreSQL timer claims in due order, whether or not a timer's instance row exists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import InstanceRecord, TimerRecord
from fulfil.engine.store.postgres import PostgresStore, split_url

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCESS = Path(__file__).resolve().parents[1] / "runtime" / "processes" / "access.yaml"


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresStore]:
    """An upgraded store on the test's schema."""
    made = PostgresStore(postgres_url)
    made.upgrade()
    yield made
    made.close()


def _orphan(store: PostgresStore, instance: str, due: datetime) -> None:
    """A timer without an instance row (as a batch's, or a deleted instance's, are)."""
    with store.transaction() as tx:
        tx.add_timer(TimerRecord(instance, "orphan", "s", "go", due, T0))


def test_tick_fires_timers_with_and_without_instance_rows_by_due_time(
    store: PostgresStore, tmp_path: Path
) -> None:
    """One tick fires an instance's timer and instance-less ones strictly by due_at."""
    catalog = Catalog((load_file(ACCESS).process,))
    engine = Engine(catalog, store=store, clock=ManualClock(T0), sheets_dir=tmp_path)
    client = {"client": "Acme Motors", "client_email": "owner@acme.test"}
    instance = engine.start("access", {**client, "account_manager": "am@acme.test"}).id
    engine.fire(instance, "begin", actor="sam", role="ops_specialist")  # its timer: T0 + 7d
    _orphan(store, "gone-1", T0 + timedelta(days=3))
    _orphan(store, "", T0 + timedelta(days=10))
    fired = engine.tick(T0 + timedelta(days=11))
    assert [(f.timer, f.due_at) for f in fired] == [
        ("orphan", T0 + timedelta(days=3)),
        ("next_call_due", T0 + timedelta(days=7)),
        ("orphan", T0 + timedelta(days=10)),
    ]
    assert fired[1].instance == instance and fired[1].refused is None


def test_timer_of_an_instance_held_elsewhere_is_passed_over_then_fired(
    store: PostgresStore, postgres_url: str
) -> None:
    """While another transaction holds an instance, its timer is skipped for the next one in
    due order, and claimed once that transaction ended."""
    with store.transaction() as tx:
        tx.insert_instance(InstanceRecord("busy-1", "p", 1, "s", {}, T0, T0, T0))
        tx.add_timer(TimerRecord("busy-1", "t", "s", "go", T0, T0))
    _orphan(store, "gone-1", T0 + timedelta(hours=1))
    later = T0 + timedelta(hours=2)
    libpq_url, schema = split_url(postgres_url)
    with psycopg.connect(libpq_url) as other, other.transaction():
        other.execute(f'SET LOCAL search_path TO "{schema}"')
        other.execute("SELECT id FROM instances WHERE id = 'busy-1' FOR UPDATE")
        with store.transaction() as tx:
            first = tx.claim_due_timer(later)
            assert first is not None and first.instance == "gone-1"
            assert tx.claim_due_timer(later) is None
    with store.transaction() as tx:
        again = tx.claim_due_timer(later)
        assert again is not None and again.instance == "busy-1"
        assert tx.claim_due_timer(later) is None
