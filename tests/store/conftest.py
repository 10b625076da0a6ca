"""The `store` fixture of the store contract: one suite, run against every store.

memory and SQLite always run; PostgreSQL runs against the test server (see
`postgres_support`) in a schema of its own per test, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_support import (
    URL,
    drop_run_schemas,
    drop_schema,
    new_schema,
    require_server,
    with_schema,
)

from engine.store import MemoryStore, SQLiteStore, Store


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop whatever schema a test of this run left behind."""
    drop_run_schemas()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty schema on the test server, dropped after the test."""
    require_server()
    schema = new_schema()
    yield with_schema(URL, schema)
    drop_schema(schema)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store in turn, empty, its schema up to date."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "s.db")
    else:
        from engine.store.postgres import PostgresStore

        url = request.getfixturevalue("postgres_url")
        made = PostgresStore(url)
        made.upgrade()
    yield made
    made.close()
