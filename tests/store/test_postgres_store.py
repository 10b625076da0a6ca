"""What the PostgreSQL store adds to the contract: URLs and schemas, explicit migrations, claims
that skip rows other workers hold, and connection failures that say what to check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.errors import ConflictError, StoreError
from fulfil.engine.store import InstanceRecord, OutboxRecord, TimerRecord, open_store
from fulfil.engine.store.base import to_iso
from fulfil.engine.store.postgres import PostgresStore, split_url
from fulfil.engine.store.schema import MIGRATIONS
from postgres_support import URL, drop_schema, new_schema, require_server, with_schema

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATEST = MIGRATIONS[-1][0]


@pytest.fixture
def schema() -> Iterator[str]:
    """A fresh schema name on the test server, dropped after the test."""
    require_server()
    name = new_schema()
    yield name
    drop_schema(name)


@pytest.fixture
def two(schema: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two stores (two connections, as two workers have) on one upgraded schema."""
    first, second = PostgresStore(with_schema(URL, schema)), PostgresStore(with_schema(URL, schema))
    first.upgrade()
    second.execute("SET lock_timeout = '3s'")  # a claim that waits fails instead of hanging
    yield first, second
    first.close()
    second.close()


def test_split_url_takes_the_schema_out() -> None:
    """`schema=` is ours, not libpq's: it is removed from the URL; postgres:// is accepted."""
    assert split_url("postgres://u@h:5/db?schema=s&sslmode=disable") == (
        "postgresql://u@h:5/db?sslmode=disable",
        "s",
    )
    assert split_url("postgresql://u@h/db") == ("postgresql://u@h/db", None)


def test_split_url_keeps_a_space_in_libpq_options(schema: str) -> None:
    """A space in a libpq parameter stays %20 (libpq reads "+" as a plus): a server setting
    given in `options=-c NAME=VALUE` reaches the server."""
    url = f"{URL}?schema={schema}&options=-c%20statement_timeout%3D4321&application_name=a%20b"
    assert split_url(url)[0].endswith(
        "?options=-c%20statement_timeout%3D4321&application_name=a%20b"
    )
    store = PostgresStore(url)
    assert store.execute("SHOW statement_timeout") == [("4321ms",)]
    assert store.execute("SHOW application_name") == [("a b",)]
    store.close()


def test_unreachable_server_is_a_store_error_saying_what_to_check() -> None:
    """No server on the port: StoreError naming the URL (no password) and what to check."""
    with pytest.raises(StoreError, match="server is running") as caught:
        open_store("postgresql://me:secret@127.0.0.1:1/nowhere")
    assert "secret" not in str(caught.value) and "127.0.0.1:1/nowhere" in str(caught.value)


def test_new_schema_refuses_to_run_until_upgraded(schema: str) -> None:
    """A schema without tables refuses transactions, pointing at `fulfil db upgrade`."""
    store = PostgresStore(with_schema(URL, schema))
    with pytest.raises(StoreError, match="fulfil db upgrade"), store.transaction():
        pass
    assert store.upgrade() == [n for n, _ in MIGRATIONS]
    assert store.upgrade() == []
    assert store.schema_version() == LATEST
    with store.transaction() as tx:
        assert tx.next_number("n") == 1
    store.close()


def test_old_schema_is_upgraded_in_place(schema: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema at version 1 gets only the later migrations, and keeps its rows."""
    import fulfil.engine.store.postgres as module

    monkeypatch.setattr(module, "MIGRATIONS", MIGRATIONS[:1])
    monkeypatch.setattr(module, "LATEST", 1)
    old = PostgresStore(with_schema(URL, schema))
    assert old.upgrade() == [1]
    # a row as version 1 wrote it (today's insert names columns later migrations added)
    stamp = to_iso(T0)
    old.execute(
        "INSERT INTO instances (id, process, version, state, data, parent, task, rev, seq, head, "
        "created_at, updated_at, last_activity_at, format_version) "
        "VALUES ('kept', 'p', 1, 's', %s, NULL, NULL, 1, 0, '', %s, %s, %s, 1)",
        ('{"a":1}', stamp, stamp, stamp),
    )
    old.close()
    monkeypatch.undo()
    new = PostgresStore(with_schema(URL, schema))
    with pytest.raises(StoreError, match="version 1"), new.transaction():
        pass
    assert new.upgrade() == [n for n, _ in MIGRATIONS[1:]]
    with new.transaction(write=False) as tx:
        kept = tx.get_instance("kept")
    assert kept is not None and kept.data == {"a": 1}
    new.close()


def test_search_path_option_selects_the_schema(schema: str) -> None:
    """libpq's options=-csearch_path=NAME works like schema=NAME."""
    store = PostgresStore(f"{URL}?options=-csearch_path%3D{schema}")
    assert store.upgrade() == [n for n, _ in MIGRATIONS]
    store.close()
    again = PostgresStore(with_schema(URL, schema))
    assert again.schema_version() == LATEST
    again.close()


def test_db_upgrade_command_prints_what_it_applied(schema: str) -> None:
    """`fulfil db upgrade` creates the tables, then has nothing left to do."""
    url = with_schema(URL, schema)
    first = CliRunner().invoke(main, ["--db", url, "db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"applied migration(s) {', '.join(str(n) for n, _ in MIGRATIONS)}" in first.output
    again = CliRunner().invoke(main, ["--db", url, "db", "upgrade"])
    assert again.exit_code == 0 and "nothing to apply" in again.output


def _instance(id: str) -> InstanceRecord:
    return InstanceRecord(id, "p", 1, "s", {}, T0, T0, T0)


def test_claimed_timer_is_skipped_not_waited_for(two: tuple[PostgresStore, PostgresStore]) -> None:
    """While one worker holds a claim, another takes the next timer; the held one stays due
    again if the first rolls back."""
    a, b = two
    with a.transaction() as tx:
        for name in ("i-1", "i-2"):
            tx.insert_instance(_instance(name))
            tx.add_timer(TimerRecord(name, "t", "s", "go", T0, T0))
    later = T0 + timedelta(hours=1)
    with pytest.raises(RuntimeError), a.transaction() as held:
        first = held.claim_due_timer(later)
        assert first is not None and first.instance == "i-1"
        with b.transaction() as other:
            second = other.claim_due_timer(later)
            assert second is not None and second.instance == "i-2"
        with b.transaction() as other:
            assert other.claim_due_timer(later) is None  # i-1 held, i-2 fired
        raise RuntimeError("the worker holding i-1 dies")
    with b.transaction() as tx:
        again = tx.claim_due_timer(later)
    assert again is not None and again.instance == "i-1" and again.fired_at == later


def test_outbox_lease_keeps_other_workers_off(two: tuple[PostgresStore, PostgresStore]) -> None:
    """Two workers claiming at once get different messages; a leased one is left alone until
    its lease ends."""
    a, b = two
    with a.transaction() as tx:
        for n in (1, 2):
            tx.add_outbox(OutboxRecord("i", "email", ("x@y",), (), f"s{n}", "b", T0))
    until = T0 + timedelta(minutes=5)
    with a.transaction() as tx_a, b.transaction() as tx_b:
        mine = tx_a.claim_outbox(T0, until)
        theirs = tx_b.claim_outbox(T0, until)
    assert mine is not None and theirs is not None and mine.id != theirs.id
    assert mine.status == "sending"
    with b.transaction() as tx:
        assert tx.claim_outbox(T0 + timedelta(minutes=1), until) is None
        stale = tx.claim_outbox(until + timedelta(seconds=1), until + timedelta(minutes=5))
    assert stale is not None and stale.id == mine.id


def test_two_writers_of_one_instance_conflict(two: tuple[PostgresStore, PostgresStore]) -> None:
    """A second writer of the same revision gets ConflictError once the first commits."""
    a, b = two
    with a.transaction() as tx:
        tx.insert_instance(_instance("i"))
    moved = replace(_instance("i"), state="t", rev=2)
    with a.transaction() as tx:
        tx.update_instance(moved, expected_rev=1)
    with pytest.raises(ConflictError), b.transaction() as tx:
        tx.update_instance(replace(moved, state="u"), expected_rev=1)
