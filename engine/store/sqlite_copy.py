"""Copying what one fulfil SQLite database holds into another, every id kept.

`fulfil demo` runs each process in a database of its own, so that one scenario's clock and ticks
never reach another's instances, and leaves them all in one file. History events are sealed with
the ids of the messages they queued, so a copy cannot renumber rows. Instead, before a process
runs, `reserve_ids` puts one reserved row at the target's highest id of each auto-numbered table
(SQLite numbers a new row after the highest id present), so the process's own database numbers
its rows after the target's; `copy_rows` then copies every row above those ids. Reserved rows
are invisible to the engine: a timer already fired, a message of the instance `RESERVED` (a
name no instance can have) with status `reserved`, a row of no sheet.

The history's store-wide sequence is kept the same way: SQLite seals every event into its first
audit lane, so `reserve_ids` renumbers the fresh database's only lane to one above the target's
highest (`LANES` in the floors), and the copied events and lane row keep their seals intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from ..errors import StoreError
from .base import to_iso

__all__ = ["ID_TABLES", "LANES", "RESERVED", "copy_rows", "highest_ids", "reserve_ids"]

RESERVED = ""  # the instance of reserved rows; instance ids are never empty
_EPOCH = to_iso(datetime(1970, 1, 1, tzinfo=UTC))

# The auto-numbered tables and a reserved row of each (the id is the first parameter).
ID_TABLES: dict[str, str] = {
    "timers": "INSERT INTO timers (id, instance, name, state, trigger_name, due_at, data, "
    f"created_at, fired_at) VALUES (?, '', 'reserved', '', '', '{_EPOCH}', '{{}}', '{_EPOCH}', "
    f"'{_EPOCH}')",
    "outbox": "INSERT INTO outbox (id, instance, channel, to_addr, cc_addr, subject, body, "
    "created_at, status, attempts, error) VALUES (?, '', 'reserved', '[]', '[]', '', '', "
    f"'{_EPOCH}', 'reserved', 0, '')",
    "sheet_rows": "INSERT INTO sheet_rows (id, sheet, instance, created_at, row_values) "
    f"VALUES (?, '', '', '{_EPOCH}', '[]')",
}
LANES = "audit_lanes"  # its floor is the highest lane number, not an id
_KEEP_ONE = {"definitions"}  # the same (process, version) in both: the same text
_MERGE_MAX = {"counters"}  # a counter keeps the larger value


def _connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {path}: {exc}") from None
    return conn


def highest_ids(path: Path) -> dict[str, int]:
    """The highest id of each auto-numbered table of a fulfil SQLite database (0 when empty)."""
    conn = _connect(path)
    try:
        highest = {
            table: int(conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0])
            for table in ID_TABLES
        }
        lanes = conn.execute(f"SELECT COALESCE(MAX(lane), -1) FROM {LANES}").fetchone()[0]
        highest[LANES] = int(lanes)
        return highest
    finally:
        conn.close()


def reserve_ids(path: Path, floors: Mapping[str, int]) -> None:
    """Make the database number its next rows above `floors` (see the module docstring)."""
    conn = _connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for table, floor in floors.items():
            if table == LANES:
                _move_fresh_lane(conn, floor + 1)
            elif floor > 0:
                conn.execute(ID_TABLES[table], (floor,))
        conn.execute("COMMIT")
    finally:
        conn.close()


def _move_fresh_lane(conn: sqlite3.Connection, lane: int) -> None:
    """Renumber a fresh database's only audit lane (no event sealed in it yet) to `lane`."""
    moved = conn.execute(
        f"UPDATE {LANES} SET lane = ? WHERE pos = 0 AND (SELECT COUNT(*) FROM {LANES}) = 1",
        (lane,),
    ).rowcount
    if moved != 1:
        conn.execute("ROLLBACK")
        raise StoreError("only a fresh database's audit lane can be renumbered before a copy")


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def copy_rows(source: Path, target: Path, floors: Mapping[str, int]) -> None:
    """Copy every row of `source` into `target` in one transaction; ids above `floors` only.

    Both databases must be at the same schema version. A row whose key the target already has
    (an instance of the same id) is an error and nothing is copied.

    Raises:
        StoreError: the schemas differ, or a row collides with one of the target.
    """
    conn = _connect(target)
    try:
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        versions = [
            conn.execute(f"SELECT MAX(version) FROM {schema}.schema_version").fetchone()[0]
            for schema in ("main", "src")
        ]
        if versions[0] != versions[1]:
            raise StoreError(
                f"{source} is at schema version {versions[1]}, {target} at {versions[0]}: "
                "upgrade both (fulfil db upgrade) before copying"
            )
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM src.sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'schema_version' ORDER BY name"
            )
        ]
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                _copy_table(conn, table, floors)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"cannot copy {source} into {target}: {exc}") from None
    finally:
        conn.close()


def _copy_table(conn: sqlite3.Connection, table: str, floors: Mapping[str, int]) -> None:
    columns = ", ".join(_columns(conn, "src", table))
    select = f"SELECT {columns} FROM src.{table}"
    if table in _KEEP_ONE:
        conn.execute(f"INSERT OR IGNORE INTO main.{table} ({columns}) {select}")
    elif table in _MERGE_MAX:
        conn.execute(
            f"INSERT INTO main.{table} ({columns}) {select} WHERE true "
            "ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value)"
        )
    elif table == LANES:  # a lane that sealed nothing carries nothing to copy
        conn.execute(f"INSERT INTO main.{table} ({columns}) {select} WHERE pos > 0")
    elif table in ID_TABLES:
        floor = floors.get(table, 0)
        conn.execute(f"INSERT INTO main.{table} ({columns}) {select} WHERE id > ?", (floor,))
    else:
        conn.execute(f"INSERT INTO main.{table} ({columns}) {select}")
