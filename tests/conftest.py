"""Hypothesis settings profiles for the whole suite.

`default` (used unless told otherwise) keeps Hypothesis's example counts, turns the per-example
deadline off (the test machine is a noisy 2-core box: timings say nothing there) and bounds
stateful runs; `thorough` runs ten times as many examples and longer state machine runs:

    .venv/bin/pytest tests/testing/test_state_machines.py --hypothesis-profile=thorough

`ci` is `default` with a fixed seed and no example database, loaded when the environment
variable CI is set: a CI run explores the same examples every time, so it cannot turn red by
chance, while local runs keep exploring new ones.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    stateful_step_count=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=1000,
    stateful_step_count=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    parent=settings.get_profile("default"),
    derandomize=True,
    database=None,
    print_blob=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Any]:
    """Password hashing at argon2's lowest cost inside the tests.

    The production cost (argon2-cffi's defaults, about 0.4 s a hash here) made every workbench
    test spend seconds signing people in. Yields the production hasher factory, so a test can
    still check what production uses.
    """
    from argon2 import PasswordHasher
    from fulfil.engine.web import credentials

    production = credentials._hasher
    monkeypatch.setattr(
        credentials, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    return production


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh schema on the test server, dropped after the test."""
    from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

    require_server()
    schema = new_schema()
    yield with_schema(URL, schema)
    drop_schema(schema)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def each_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Each store in turn, empty, its schema up to date."""
    made: Store
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "store.db")
    else:
        from fulfil.engine.store.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_url"))
        made.upgrade()
    yield made
    made.close()


@pytest.fixture
def store(each_store: Store) -> Store:
    """The store of a test: each store in turn, unless the test's folder narrows it (the
    runtime tests' own `store` runs on memory and SQLite only)."""
    return each_store


_REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def writes_nothing_into_the_repository(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test leaves the repository as it found it (a `sheets/` folder once ended up
    committed). An engine made without `sheets_dir` writes its sheets to `./sheets`, the
    folder the command is run in; inside the tests that default is a temporary folder."""
    from fulfil.engine.runtime import Engine

    defaults = Engine.__init__.__kwdefaults__
    assert defaults is not None and defaults["sheets_dir"] == Path("sheets")
    monkeypatch.setitem(defaults, "sheets_dir", tmp_path_factory.mktemp("sheets"))
    existed = (_REPOSITORY / "sheets").exists()
    yield
    if not existed and (_REPOSITORY / "sheets").exists():
        shutil.rmtree(_REPOSITORY / "sheets")
        pytest.fail("the test wrote ./sheets into the repository", pytrace=False)
