"""Stores the engine can run against, chosen by URL.

memory://                 in memory (tests, one-off scripts)
sqlite:///path/to/file.db one SQLite file (the default: sqlite:///fulfil.db); ?prefix=fulfil_
                          prefixes the engine's tables (a file shared with an application)
postgresql://...          PostgreSQL (several workers; needs the `postgres` extra)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import UsageError, did_you_mean
from ..lazy import names_from
from .base import (
    BatchMember,
    DefinitionRecord,
    EventRecord,
    InstanceRecord,
    OutboxRecord,
    SheetRow,
    Store,
    TimerRecord,
    TokenRecord,
    Transaction,
)
from .prefix import sqlite_url
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .memory import MemoryStore

__all__ = [
    "BatchMember",
    "DefinitionRecord",
    "EventRecord",
    "InstanceRecord",
    "MemoryStore",
    "OutboxRecord",
    "SQLiteStore",
    "SheetRow",
    "Store",
    "TimerRecord",
    "TokenRecord",
    "Transaction",
    "open_store",
]


# the in-memory store is for tests and scripts: a command on a file does not import it
__getattr__ = names_from(__name__, {"MemoryStore": "memory"})


def _memory(url: str) -> Store:
    from .memory import MemoryStore

    return MemoryStore(url)


def _sqlite(url: str) -> Store:
    path, prefix, synchronous = sqlite_url(url)
    return SQLiteStore(path, prefix=prefix, synchronous=synchronous)


def _postgres(url: str) -> Store:
    try:
        module = importlib.import_module(".postgres", __name__)
    except ImportError as exc:
        raise UsageError(
            f"the PostgreSQL store is not available ({exc}); install it with "
            "pip install 'fulfil[postgres]'"
        ) from None
    store: Store = module.PostgresStore(url)
    return store


_SCHEMES: dict[str, Callable[[str], Store]] = {
    "memory": _memory,
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def open_store(url: str) -> Store:
    """Open the store a URL names.

    Raises:
        UsageError: the URL's scheme is unknown (the message lists the known ones).
        StoreError: the database cannot be opened.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    opener = _SCHEMES.get(scheme)
    if opener is None:
        hint = did_you_mean(scheme, _SCHEMES) if scheme else ""
        raise UsageError(
            f"unknown store URL '{url}'"
            + (f" ({hint})" if hint else "")
            + "; use memory://, sqlite:///FILE or postgresql://USER@HOST/DB"
        )
    return opener(url)
