"""The PostgreSQL server the tests use: its URL, whether it answers, and throwaway schemas.

The URL comes from `FULFIL_TEST_POSTGRES_URL` (default: the local trust-auth server of the
development and CI machines). Every schema a test makes is named after this run
(`fulfil_test_<random>_<n>`) and dropped afterwards. When no server answers the tests skip,
saying why, unless `CI` is set: there the server is expected and its absence fails the run.
"""

from __future__ import annotations

import functools
import itertools
import os
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

URL = os.environ.get("FULFIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
RUN = f"fulfil_test_{secrets.token_hex(4)}"
_numbers = itertools.count(1)


@functools.cache
def server_problem() -> str | None:
    """Why the test server cannot be used, or None when it answers."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); pip install -e '.[test]'"
    try:
        with psycopg.connect(URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server answers at {URL} ({str(exc).strip().splitlines()[0]})"
    return None


def require_server() -> None:
    """Skip the calling test when the server is missing; fail instead when `CI` is set."""
    problem = server_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem}; CI is set, so the PostgreSQL tests must run", pytrace=False)
    pytest.skip(f"{problem}; set FULFIL_TEST_POSTGRES_URL to run the PostgreSQL tests")


def with_schema(url: str, schema: str) -> str:
    """`url` with its `schema=` query parameter set to `schema`."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"] + [("schema", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def new_schema() -> str:
    """A fresh schema name of this run (the schema itself is made by `upgrade()`)."""
    return f"{RUN}_{next(_numbers)}"


def drop_schema(schema: str) -> None:
    """Drop a schema this run made, with everything in it."""
    import psycopg

    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def drop_run_schemas() -> None:
    """Drop every schema left by this run (a test killed half-way leaves one behind)."""
    if server_problem() is not None:
        return
    import psycopg

    with psycopg.connect(URL, autocommit=True) as conn:
        names = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{RUN}%",)
        ).fetchall()
        for (name,) in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
