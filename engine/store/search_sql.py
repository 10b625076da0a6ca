"""The SQL of `Transaction.search_instances`, shared by the SQLite and PostgreSQL stores.

A search over a few (process, state) keys is one `UNION ALL` of a page per key, each read
through that key's index (`(process, state, sort column)`) in the order asked for, and the
pages merged: the database reads at most `limit` rows per key wherever the page is. Over many
keys, or none, it is one statement over the sort column's own index. The statement is the same
in both databases but for the parameter placeholder, which the caller's dialect gives (`mark`).
"""

from __future__ import annotations

from typing import Any

from .base import SEARCH_ORDERS, InstanceFilter, StateKey, to_iso
from .rows import INSTANCE_COLUMNS

__all__ = ["MAX_BRANCHES", "search_sql"]

MAX_BRANCHES = 64
"""The most (process, state) keys read as a page each; more become one OR'ed statement."""


def _key_clause(key: StateKey, params: list[Any], p: str) -> str:
    process, state, versions = key
    params += [process, state]
    if not versions:
        return f"process = {p} AND state = {p}"
    params += list(versions)
    return f"process = {p} AND state = {p} AND version IN ({', '.join([p] * len(versions))})"


def _after_clause(
    order: str, descending: bool, after: tuple[str, str], params: list[Any], p: str
) -> str:
    """Strictly after the keyset position `after` in the order given.

    Written `col >= k AND (col > k OR id > i)` rather than as a row value, so that the
    database walks the index from `k` (SQLite does not take a row value of an index's
    columns and the rowid as a range).
    """
    compare = "<" if descending else ">"
    if order == "id":
        params.append(after[1])
        return f"id {compare} {p}"
    params += [after[0], after[0], after[1]]
    return f"{order} {compare}= {p} AND ({order} {compare} {p} OR id {compare} {p})"


def _escaped(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(query: InstanceFilter, order: str, p: str) -> tuple[list[str], list[Any]]:
    """The WHERE clauses of everything but the state keys, and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.process is not None:
        where.append(f"process = {p}")
        params.append(query.process)
    if query.version is not None:
        where.append(f"version = {p}")
        params.append(query.version)
    if query.assignee == "":
        where.append("assignee IS NULL")
    elif query.assignee is not None:
        where.append(f"assignee = {p}")
        params.append(query.assignee)
    for column, bound, op in (
        ("created_at", query.created_from, ">="),
        ("created_at", query.created_to, "<"),
        ("updated_at", query.updated_from, ">="),
        ("updated_at", query.updated_to, "<"),
    ):
        if bound is not None:
            where.append(f"{column} {op} {p}")
            params.append(to_iso(bound))
    if query.text:
        like = f"%{_escaped(query.text)}%"
        where.append(f"(lower(id) LIKE {p} ESCAPE '\\' OR lower(data) LIKE {p} ESCAPE '\\')")
        params += [like, like]
    if query.after is not None:
        where.append(_after_clause(order, query.descending, query.after, params, p))
    return where, params


def search_sql(query: InstanceFilter, limit: int, mark: str) -> tuple[str, list[Any]]:
    """The keyset query of `search_instances` (portable: SQLite and PostgreSQL), its
    parameters written `mark` (`?` for SQLite, `%s` for PostgreSQL).

    Every filter is a plain comparison on an indexed column, and the page position a range on
    the sort column, so the database walks an index in order and stops after `limit` rows (per
    state key when the search names a few).
    """
    order = query.order if query.order in SEARCH_ORDERS else "created_at"
    direction = "DESC" if query.descending else "ASC"
    order_by = (
        f" ORDER BY id {direction}"
        if order == "id"
        else f" ORDER BY {order} {direction}, id {direction}"
    )
    p = mark
    where, params = _filters(query, order, p)
    keys = query.states
    if keys is not None and 0 < len(keys) <= MAX_BRANCHES:
        branches: list[str] = []
        all_params: list[Any] = []
        for n, key in enumerate(keys):
            own: list[Any] = []
            clauses = [_key_clause(key, own, p), *where]
            branches.append(
                f"SELECT * FROM (SELECT {INSTANCE_COLUMNS} FROM instances WHERE "
                + " AND ".join(clauses)
                + f"{order_by} LIMIT {p}) AS k{n}"
            )
            all_params += [*own, *params, int(limit)]
        return " UNION ALL ".join(branches) + f"{order_by} LIMIT {p}", [*all_params, int(limit)]
    if keys is not None:
        ors: list[str] = []
        own = []
        for key in keys:
            ors.append(f"({_key_clause(key, own, p)})")
        where.insert(0, "(" + " OR ".join(ors) + ")" if ors else "1 = 0")
        params = own + params
    sql = f"SELECT {INSTANCE_COLUMNS} FROM instances"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return f"{sql}{order_by} LIMIT {p}", [*params, int(limit)]
