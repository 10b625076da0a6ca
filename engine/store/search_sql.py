"""The SQL of `Transaction.search_instances`, shared by the SQLite and PostgreSQL stores."""

from __future__ import annotations

from typing import Any

from .base import SEARCH_ORDERS, InstanceFilter, to_iso
from .sqlite_rows import _INSTANCE_COLUMNS

__all__ = ["search_sql"]


def _states_clause(states: tuple[tuple[str, str], ...], params: list[Any]) -> str:
    """`(process = ? AND state IN (...)) OR ...` for the (process, state) pairs."""
    if not states:
        return "1 = 0"
    by_process: dict[str, list[str]] = {}
    for process, state in states:
        by_process.setdefault(process, []).append(state)
    ors = []
    for process, names in by_process.items():
        marks = ", ".join("?" * len(names))
        ors.append(f"(process = ? AND state IN ({marks}))")
        params += [process, *names]
    return "(" + " OR ".join(ors) + ")"


def _after_clause(order: str, descending: bool, after: tuple[str, str], params: list[Any]) -> str:
    """Strictly after the keyset position `after` in the order given."""
    compare = "<" if descending else ">"
    if order == "id":
        params.append(after[1])
        return f"id {compare} ?"
    params += [after[0], after[1]]
    return f"({order}, id) {compare} (?, ?)"


def search_sql(query: InstanceFilter, limit: int) -> tuple[str, list[Any]]:
    """The keyset query of `search_instances` (portable: SQLite and PostgreSQL).

    Every filter is a plain comparison on an indexed column (migration 10), and the page
    position a row-value comparison on the sort columns, so the database walks an index in
    order and stops after `limit` rows.
    """
    where: list[str] = []
    params: list[Any] = []
    if query.process is not None:
        where.append("process = ?")
        params.append(query.process)
    if query.version is not None:
        where.append("version = ?")
        params.append(query.version)
    if query.states is not None:
        where.append(_states_clause(query.states, params))
    if query.assignee is not None:
        where.append("assignee = ?")
        params.append(query.assignee)
    for column, bound, op in (
        ("created_at", query.created_from, ">="),
        ("created_at", query.created_to, "<"),
        ("updated_at", query.updated_from, ">="),
        ("updated_at", query.updated_to, "<"),
    ):
        if bound is not None:
            where.append(f"{column} {op} ?")
            params.append(to_iso(bound))
    order = query.order if query.order in SEARCH_ORDERS else "created_at"
    direction = "DESC" if query.descending else "ASC"
    if query.after is not None:
        where.append(_after_clause(order, query.descending, query.after, params))
    sql = f"SELECT {_INSTANCE_COLUMNS} FROM instances"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order == "id":
        sql += f" ORDER BY id {direction}"
    else:
        sql += f" ORDER BY {order} {direction}, id {direction}"
    sql += " LIMIT ?"
    params.append(int(limit))
    return sql, params
