"""Fixtures of the audit tests: each store in turn, and engines over the runtime fixture."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fulfil.engine.audit import AuditKeys
from fulfil.engine.clock import ManualClock
from fulfil.engine.loader import Catalog, load_file
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store

sys.path.insert(0, str(Path(__file__).parents[1] / "store"))
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

FIXTURES = Path(__file__).parents[1] / "runtime" / "processes"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENT = {"client": "Acme Motors", "client_email": "owner@acme.test"}
OPS = {"actor": "sam", "role": "ops_specialist"}
KEYS = AuditKeys((("k1", b"an audit key of enough length"),))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server, dropped after the test."""
    require_server()
    schema = new_schema()
    yield with_schema(URL, schema)
    drop_schema(schema)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store in turn, empty."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "t.db")
    else:
        from fulfil.engine.store.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_url"))
        made.upgrade()
    yield made
    made.close()


def engine(store: Store, keys: AuditKeys = KEYS, clock: ManualClock | None = None) -> Engine:
    """An engine over the runtime's `access` fixture process, sealing with `keys`."""
    catalog = Catalog((load_file(FIXTURES / "access.yaml").process,))
    return Engine(catalog, store=store, clock=clock or ManualClock(T0), audit_keys=keys)
