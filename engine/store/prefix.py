"""A prefix on the names of the engine's SQLite tables and indexes (`sqlite:///app.db?prefix=fulfil_`).

An application that keeps its own tables in the same SQLite file (one that already has an
`events` table, say) gives the engine a prefix: every statement the store runs names
`fulfil_events`, `fulfil_instances`... instead. Statements are written with the plain names
(`engine.store.schema`, `engine.store.sql`, `engine.store.sqlite`); `Prefixed` wraps the SQLite
transaction's cursor, and `prefixed` rewrites each statement once and caches the result, so the
cost is a dictionary lookup per statement, and nothing without a prefix. The prefix is SQLite's
alone, so it stays outside the shared dialect: PostgreSQL has schemas for this
(`postgresql://...?schema=NAME`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import UsageError

__all__ = [
    "PREFIX",
    "SYNCHRONOUS",
    "Prefixed",
    "check_prefix",
    "prefixed",
    "split_sqlite_url",
    "sqlite_url",
]

# `?synchronous=`: what a commit waits for (see engine.store.sqlite)
SYNCHRONOUS = ("normal", "full")

PREFIX = r"^[A-Za-z][A-Za-z0-9_]*$"
TABLES = (
    "definitions",
    "instances",
    "events",
    "timers",
    "outbox",
    "sheet_rows",
    "counters",
    "batch_members",
    "audit_lanes",
    "jobs",
    "listener_cursors",
    "passwords",
    "api_tokens",
    "verify_marks",
    "verify_lanes",
    "schema_version",
)
_TABLE = r"\b(" + "|".join(TABLES) + r")\b"
_INDEX = r"\b((?:CREATE (?:UNIQUE )?INDEX|DROP INDEX) )(\w+)"


def check_prefix(prefix: str) -> str:
    """The prefix, or UsageError when it cannot start a table name."""
    if prefix and not re.match(PREFIX, prefix):
        raise UsageError(
            f"table prefix '{prefix}' may use letters, digits and _ (starting with a letter), "
            "e.g. ?prefix=fulfil_"
        )
    return prefix


@lru_cache(maxsize=2048)
def prefixed(statement: str, prefix: str) -> str:
    """`statement` with the engine's table and index names prefixed."""
    if not prefix:
        return statement
    text = re.sub(_INDEX, lambda m: m.group(1) + prefix + m.group(2), statement)
    return re.sub(_TABLE, lambda m: prefix + m.group(1), text)


class Prefixed:
    """A sqlite3 connection or cursor whose `execute` prefixes the engine's names."""

    __slots__ = ("_inner", "_prefix")

    def __init__(self, inner: Any, prefix: str) -> None:
        self._inner, self._prefix = inner, prefix

    def execute(self, statement: str, params: Any = ()) -> Any:
        return self._inner.execute(prefixed(statement, self._prefix), params)


def sqlite_url(url: str) -> tuple[str, str, str]:
    """The file path, the table prefix and the `synchronous` setting of a
    `sqlite:///PATH[?prefix=P][&synchronous=normal|full]` URL.

    Raises:
        UsageError: the URL names no file, an unknown option, a prefix that is not a name, or
            a `synchronous` other than normal or full.
    """
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url[len("sqlite://") :]
    path, _, query = path.partition("?")
    prefix, synchronous = "", "normal"
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if key == "prefix":
            prefix = value
        elif key == "synchronous":
            synchronous = value.lower()
            if synchronous not in SYNCHRONOUS:
                raise UsageError(
                    f"'{url}': synchronous takes normal or full (got '{value}'); full waits "
                    "for the disk at every commit, normal keeps the file consistent but may "
                    "lose the last commits on a power loss"
                )
        elif key:
            raise UsageError(
                f"'{url}': unknown option '{key}'; a SQLite URL takes ?prefix=NAME_ and "
                "?synchronous=normal|full"
            )
    if not path:
        raise UsageError(f"'{url}' names no file: write sqlite:///fulfil.db")
    return path, check_prefix(prefix), synchronous


def split_sqlite_url(url: str) -> tuple[str, str]:
    """The file path and the table prefix of a SQLite URL (see `sqlite_url`)."""
    path, prefix, _ = sqlite_url(url)
    return path, prefix
