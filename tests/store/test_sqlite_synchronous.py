"""`?synchronous=normal|full` in a SQLite URL: what a commit waits for, chosen by the user."""

from __future__ import annotations

from pathlib import Path

import pytest
from fulfil.engine.errors import UsageError
from fulfil.engine.store import SQLiteStore, open_store


def pragma(store: SQLiteStore) -> int:
    return int(store._conn.execute("PRAGMA synchronous").fetchone()[0])


@pytest.mark.parametrize(
    ("query", "level", "name"),
    [("", 1, "normal"), ("?synchronous=normal", 1, "normal"), ("?synchronous=FULL", 2, "full")],
)
def test_the_url_sets_synchronous(tmp_path: Path, query: str, level: int, name: str) -> None:
    """normal (1) by default; full (2) when asked; the store's URL says what it runs with."""
    store = open_store(f"sqlite:///{tmp_path / 'f.db'}{query}")
    assert isinstance(store, SQLiteStore)
    try:
        assert pragma(store) == level and store.synchronous == name
        assert ("synchronous=full" in store.url) == (name == "full")
    finally:
        store.close()
    assert (tmp_path / "f.db").exists() and len(list(tmp_path.glob("f.db?*"))) == 0


def test_synchronous_goes_with_a_prefix(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'f.db'}?prefix=fulfil_&synchronous=full")
    assert isinstance(store, SQLiteStore)
    try:
        assert pragma(store) == 2 and store.prefix == "fulfil_"
        reopened = open_store(store.url)
        assert isinstance(reopened, SQLiteStore) and pragma(reopened) == 2
        reopened.close()
    finally:
        store.close()


@pytest.mark.parametrize("value", ["off", "extra", ""])
def test_other_values_are_refused_saying_what_each_one_means(tmp_path: Path, value: str) -> None:
    with pytest.raises(UsageError, match=r"synchronous takes normal or full.*power loss"):
        open_store(f"sqlite:///{tmp_path / 'f.db'}?synchronous={value}")
    assert not (tmp_path / "f.db").exists()
    with pytest.raises(UsageError, match=r"unknown option 'synchronus'.*synchronous=normal"):
        open_store(f"sqlite:///{tmp_path / 'f.db'}?synchronus=full")
