"""Fixtures of the workbench tests: an engine over the shipped processes and people on memory
and SQLite, people with passwords, and a test client (helpers are in `web_support`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.runtime import Engine
from fulfil.engine.web.app import create_app
from fulfil.engine.web.auth import WebConfig
from fulfil.engine.web.credentials import Credentials
from web_support import PASSWORD, T0, Wall, make_engine, make_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    """An engine over the shipped processes and people.yaml, on memory and SQLite."""
    store = make_store(request.param, tmp_path, request)
    made = make_engine(store, clock)
    credentials = Credentials(made.store, clock, made.people)  # type: ignore[arg-type]
    for person in ("sam", "nina", "lee", "alex", "amy"):
        credentials.set_password(person, PASSWORD)
    yield made
    store.close()


@pytest.fixture
def config(wall: Wall) -> WebConfig:
    return WebConfig(secret=b"test-secret", session_seconds=3600, wall=wall)


@pytest.fixture
def client(engine: Engine, config: WebConfig) -> TestClient:
    """A client of the workbench, nobody signed in."""
    return TestClient(create_app(engine, config), follow_redirects=False)
