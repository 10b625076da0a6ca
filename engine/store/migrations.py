"""`fulfil db upgrade`: bring a store's schema to the latest migration, in place.

The migrations themselves are in `engine.store.schema`, shared by SQLite and PostgreSQL. A
SQLite file upgrades itself when opened; PostgreSQL never does (several workers share it, so
the change is an explicit step, run once), and refuses to run on an old schema.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .schema import MIGRATIONS

__all__ = ["Upgrade", "upgrade_store"]


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade_store` did: the migrations applied and the version the schema is at."""

    url: str
    applied: tuple[int, ...]
    version: int

    def summary(self) -> str:
        """One line for the terminal."""
        if not self.applied:
            return f"{self.url}: schema already at version {self.version}, nothing to apply"
        done = ", ".join(str(n) for n in self.applied)
        return f"{self.url}: applied migration(s) {done}; schema at version {self.version}"


def _sqlite_version(path: Path, prefix: str = "") -> int:
    """The version of a SQLite file before opening it upgrades it (0: new file)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as conn:
            row = conn.execute(f"SELECT MAX(version) FROM {prefix}schema_version").fetchone()
    except sqlite3.Error:
        return 0  # no schema_version table: not yet a fulfil database
    return int(row[0] or 0)


def upgrade_store(url: str) -> Upgrade:
    """Create the schema of the store `url` names, or upgrade it to the latest migration.

    Raises:
        UsageError: the URL names no known store.
        StoreError: the database cannot be reached or a migration failed.
    """
    from . import SQLiteStore, open_store
    from .prefix import split_sqlite_url

    before = None
    if url.startswith("sqlite:"):
        path, prefix = split_sqlite_url(url)
        before = _sqlite_version(Path(path), prefix)
    store = open_store(url)
    try:
        applied = store.upgrade()
        if isinstance(store, SQLiteStore) and before is not None:
            applied = [n for n, _ in MIGRATIONS if n > before]
        version_of = getattr(store, "schema_version", None)
        version = int(version_of()) if version_of else (applied[-1] if applied else 0)
    finally:
        store.close()
    return Upgrade(url, tuple(applied), version)
