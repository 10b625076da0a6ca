"""Instance search for `GET /api/instances`: by process, state, assignee, open or closed.

Pages are keyset pages over (last_activity_at, id): the `next` cursor names the last row of a
page, so a page deep in 100,000 instances costs what the first does
(`Transaction.page_instances`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..errors import NotFound, UsageError
from ..model import Process
from ..runtime import Engine
from ..store.base import from_iso, to_iso

__all__ = [
    "decode_cursor",
    "encode_cursor",
    "parse_open",
    "processes_of",
    "search_pairs",
]


def encode_cursor(at: datetime, instance_id: str) -> str:
    """The opaque `next` cursor of a page ending at this row."""
    return base64.urlsafe_b64encode(f"{to_iso(at)}|{instance_id}".encode()).decode("ascii")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """The row key a cursor names (None for the first page).

    Raises:
        UsageError: the cursor was not made by `encode_cursor`.
    """
    if not cursor:
        return None
    try:
        at, _, instance_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return from_iso(at), instance_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise UsageError(
            f"cursor '{cursor}' is not one this server gave; pass the `next` value of the "
            "previous page, or none for the first page"
        ) from None


def processes_of(engine: Engine) -> list[Process]:
    """The latest version of every process of the engine's catalog."""
    catalog: Any = engine.catalog
    return list(catalog) if hasattr(catalog, "__iter__") else []


def search_pairs(
    processes: Iterable[Process],
    *,
    process: str | None = None,
    state: str | None = None,
    open_: bool | None = None,
) -> list[tuple[str, str]]:
    """The (process, state) pairs a search covers.

    Raises:
        NotFound: no such process, or no process has that state.
    """
    catalog = list(processes)
    if process is not None and all(p.id != process for p in catalog):
        known = ", ".join(sorted(p.id for p in catalog))
        raise NotFound(f"no process '{process}'; the processes: {known}")
    pairs = [
        (p.id, s.name)
        for p in catalog
        if process is None or p.id == process
        for s in p.states
        if (state is None or s.name == state) and (open_ is None or open_ != s.terminal)
    ]
    if state is not None and not any(s.name == state for p in catalog for s in p.states):
        raise NotFound(f"no process has a state '{state}'")
    return pairs


def parse_open(value: str | None) -> bool | None:
    """The `open=` query value: true/false (1/0, yes/no), or None when absent."""
    if value is None or value == "":
        return None
    lowered = value.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise UsageError(f"open= takes true or false (got '{value}')")


def page_json(views: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": [v.to_json() for v in views], "next": next_cursor}
