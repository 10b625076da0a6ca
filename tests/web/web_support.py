"""What the workbench tests share: engines over the shipped processes and people, and helpers
to sign in, start work and make tokens."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.people import load_people
from fulfil.engine.runtime import Engine
from fulfil.engine.store import MemoryStore, SQLiteStore, Store
from fulfil.engine.web.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]


def screenshot_folder() -> Path:
    """Where the browser tests save their screenshots: tests/artifacts/workbench (ignored by
    git), or docs/ to refresh the README's pictures (`FULFIL_SCREENSHOTS=docs`)."""
    if os.environ.get("FULFIL_SCREENSHOTS") == "docs":
        return ROOT / "docs"
    folder = ROOT / "tests" / "artifacts" / "workbench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


PROCESSES = ROOT / "processes"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
PASSWORD = "correct horse battery"
START = {"client": "Acme Motors", "client_email": "owner@acme.example", "fr_number": "FR-1001"}


class Wall:
    """A wall clock for session expiry that a test moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "web.db")

    from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

    require_server()
    schema = new_schema()
    request.addfinalizer(lambda: drop_schema(schema))
    from fulfil.engine.store.postgres import PostgresStore

    store = PostgresStore(with_schema(URL, schema))
    store.upgrade()
    return store


def make_engine(store: Store, clock: ManualClock) -> Engine:
    catalog = load_directory(PROCESSES)
    people = load_people(PROCESSES / "people.yaml", catalog)
    return Engine(catalog, store=store, clock=clock, people=people)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, person: str = "sam", password: str = PASSWORD) -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": person, "password": password, "csrf": csrf_of(page.text)},
    )


def token(engine: Engine, person: str) -> dict[str, str]:
    made = Credentials(engine.store, engine.clock, engine.people).new_token(person)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {made}"}


def started(engine: Engine, **data: Any) -> str:
    """A facebook_access task started by alex and begun by sam: in_progress."""
    view = engine.start("facebook_access", {**START, **data}, actor="alex")
    engine.fire(view.id, "begin", actor="sam")
    return view.id
