"""What the workbench's searches share: the catalog's processes and the `open=` parameter.

`GET /api/instances` and My work both search through `Engine.search` (engine.runtime.search),
least recently active first (`sort="last_activity_at"`), with its keyset cursors: a page deep
in 100,000 instances costs what the first does.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..model import Process
from ..runtime import Engine

__all__ = ["WORK_ORDER", "parse_open", "processes_of"]

WORK_ORDER = "last_activity_at"
"""Least recently worked on first: stale work shows on top (as on the dashboard)."""


def processes_of(engine: Engine) -> list[Process]:
    """The processes of the engine's catalog."""
    catalog: Any = engine.catalog
    return list(catalog) if hasattr(catalog, "__iter__") else []


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
