"""PostgreSQL in trouble: a full disk and a read-only server give clear errors and no damage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import Catalog, load_file
from fulfil.engine.errors import StoreError
from fulfil.engine.runtime import Engine
from fulfil.engine.store.postgres import PostgresStore
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

PROCESSES = Path(__file__).resolve().parents[1] / "runtime" / "processes"
CATALOG = Catalog((load_file(PROCESSES / "access.yaml").process,))
CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
OPS = {"actor": "sam", "role": "ops_specialist"}
# SQLSTATE 53100 (disk_full) is what PostgreSQL answers when it "could not extend file"
DISK_FULL = """
CREATE FUNCTION refuse_for_room() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device'
    USING ERRCODE = 'disk_full';
END $$;
CREATE TRIGGER no_room BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_for_room();
"""


@pytest.fixture
def store() -> Iterator[PostgresStore]:
    """An upgraded store on a fresh schema with one instance, access-1, begun."""
    require_server()
    schema = new_schema()
    made = PostgresStore(with_schema(URL, schema))
    made.upgrade()
    engine = Engine(CATALOG, store=made, clock=ManualClock(datetime(2026, 3, 2, tzinfo=UTC)))
    engine.fire(engine.start("access", CLIENT).id, "begin", **OPS)
    yield made
    made.close()
    drop_schema(schema)


def _counts(store: PostgresStore) -> tuple[int, ...]:
    tables = ("instances", "events", "timers", "outbox", "counters")
    return tuple(store.execute(f"SELECT COUNT(*) FROM {name}")[0][0] for name in tables)


def test_a_full_disk_refuses_the_whole_step(store: PostgresStore) -> None:
    """disk_full mid-step: a StoreError saying the database is full, and nothing stored."""
    engine = Engine(CATALOG, store=store, clock=ManualClock(datetime(2026, 3, 3, tzinfo=UTC)))
    store.execute(DISK_FULL)
    before = _counts(store)
    with pytest.raises(StoreError, match=r"is full .*free space") as caught:
        engine.start("access", CLIENT)
    assert "server is running" not in str(caught.value)
    with pytest.raises(StoreError, match="is full"):
        engine.fire("access-1", "log_call", {"outcome": "no_answer"}, **OPS)
    assert _counts(store) == before
    store.execute("DROP TRIGGER no_room ON events")
    assert engine.start("access", CLIENT).id == "access-2"
    assert engine.verify().ok


def test_a_read_only_server_can_be_read(store: PostgresStore) -> None:
    """A read-only server (a standby): reading works, a write says it is read-only."""
    store.execute("SET default_transaction_read_only = on")
    engine = Engine(CATALOG, store=store, clock=ManualClock(datetime(2026, 3, 3, tzinfo=UTC)))
    assert engine.show("access-1").state == "in_progress"
    assert engine.verify().ok
    with pytest.raises(StoreError, match=r"is read-only .*primary"):
        engine.fire("access-1", "log_call", {"outcome": "no_answer"}, **OPS)


def test_an_id_with_a_nul_character_is_refused_saying_so(store: PostgresStore) -> None:
    """PostgreSQL cannot hold a NUL character in a text: a step naming an instance id with one
    is a StoreError saying so (not that the server may be down), nothing is written, and the
    next step on the connection works."""
    engine = Engine(CATALOG, store=store, clock=ManualClock(datetime(2026, 3, 3, tzinfo=UTC)))
    before = _counts(store)
    for step in (
        lambda: engine.fire("access-1\x00", "log_call", {"outcome": "no_answer"}, **OPS),
        lambda: engine.start("access", CLIENT, id="access-\x00"),
        lambda: engine.show("access-1\x00"),
    ):
        with pytest.raises(StoreError, match=r"NUL character \(0x00\)") as caught:
            step()
        assert "server is running" not in str(caught.value)
    assert _counts(store) == before
    engine.fire("access-1", "log_call", {"outcome": "no_answer"}, **OPS)
    assert engine.verify().ok
