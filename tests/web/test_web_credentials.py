"""Credentials: password hashes and API token digests in every store, and the `fulfil people`
commands that set them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fulfil.engine.clock import ManualClock
from fulfil.engine.definition.loader import load_directory
from fulfil.engine.errors import UsageError
from fulfil.engine.people import load_people
from fulfil.engine.store import Store, TokenRecord
from fulfil.engine.web.credentials import Credentials, token_digest
from web_support import PASSWORD, PROCESSES, T0, make_store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    made = make_store(request.param, tmp_path, request)
    request.addfinalizer(made.close)
    return made


@pytest.fixture
def credentials(store: Store) -> Credentials:
    people = load_people(PROCESSES / "people.yaml", load_directory(PROCESSES))
    return Credentials(store, ManualClock(T0), people)


class Boom(Exception):
    pass


def test_store_keeps_hashes_and_digests(store: Store) -> None:
    """Each store sets, replaces and reads a password hash; adds, finds and revokes tokens."""
    with store.transaction() as tx:
        assert tx.get_password("sam") is None
        tx.set_password("sam", "h1", T0)
        tx.set_password("sam", "h2", T0)
        tx.add_token(TokenRecord("d1", "sam", T0))
        tx.add_token(TokenRecord("d2", "sam", T0))
        tx.add_token(TokenRecord("d3", "nina", T0))
    with store.transaction() as tx:
        assert tx.get_password("sam") == "h2"
        assert tx.get_token("d1") == TokenRecord("d1", "sam", T0)
        assert tx.revoke_tokens("sam", T0 + timedelta(hours=1)) == 2
        assert tx.revoke_tokens("sam", T0 + timedelta(hours=2)) == 0
    with store.transaction(write=False) as tx:
        assert tx.get_token("d1") == TokenRecord("d1", "sam", T0, T0 + timedelta(hours=1))
        assert tx.get_token("d3") == TokenRecord("d3", "nina", T0)
        assert tx.get_token("nope") is None


def test_credentials_roll_back_with_the_step(store: Store) -> None:
    """A failed transaction leaves no password and no revocation behind."""
    with store.transaction() as tx:
        tx.add_token(TokenRecord("d1", "sam", T0))
    with pytest.raises(Boom), store.transaction() as tx:
        tx.set_password("sam", "h1", T0)
        tx.revoke_tokens("sam", T0)
        raise Boom
    with store.transaction(write=False) as tx:
        assert tx.get_password("sam") is None
        assert tx.get_token("d1") == TokenRecord("d1", "sam", T0)


def test_passwords_are_argon2id_hashes(credentials: Credentials, store: Store) -> None:
    """The store holds an argon2id hash, never the password; only the right one checks."""
    credentials.set_password("sam", PASSWORD)
    with store.transaction(write=False) as tx:
        hashed = tx.get_password("sam")
    assert hashed is not None and hashed.startswith("$argon2id$") and PASSWORD not in hashed
    person = credentials.check_password("sam", PASSWORD)
    assert person is not None and person.id == "sam"
    assert credentials.check_password("sam", PASSWORD + "x") is None
    assert credentials.check_password("nina", PASSWORD) is None  # none set
    assert credentials.check_password("nobody", PASSWORD) is None


def test_bad_credentials_are_refused(credentials: Credentials) -> None:
    """Short passwords, unknown and inactive people get a message saying what to do."""
    with pytest.raises(UsageError, match="at least 8 characters"):
        credentials.set_password("sam", "short")
    with pytest.raises(UsageError, match=r"unknown person 'sma'.*sam"):
        credentials.set_password("sma", PASSWORD)
    with pytest.raises(UsageError, match="inactive"):
        credentials.new_token("riley")


def test_tokens_are_digests_and_revocable(credentials: Credentials, store: Store) -> None:
    """A token works until revoked; the store keeps only its SHA-256 digest."""
    token = credentials.new_token("sam")
    with store.transaction(write=False) as tx:
        record = tx.get_token(token_digest(token))
    assert record is not None and record.person == "sam" and token not in record.digest
    found = credentials.person_for_token(token)
    assert found is not None and found.id == "sam"
    assert credentials.person_for_token(token + "x") is None
    assert credentials.revoke_tokens("sam") == 1
    assert credentials.person_for_token(token) is None


def _cli(tmp_path: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None) -> Any:
    import os

    return subprocess.run(
        [sys.executable, "-m", "fulfil.cli", "--db", f"sqlite:///{tmp_path / 'c.db'}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_people_commands(tmp_path: Path) -> None:
    """set-password reads stdin (or FULFIL_PASSWORD); token prints the token as the last
    word; revoke-tokens revokes; a short password is refused without a traceback."""
    done = _cli(tmp_path, "people", "set-password", "sam", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "password set for sam" in done.stdout
    short = _cli(tmp_path, "people", "set-password", "sam", env={"FULFIL_PASSWORD": "abc"})
    assert short.returncode == 2 and "at least 8" in short.stderr
    assert "Traceback" not in short.stderr
    made = _cli(tmp_path, "people", "token", "sam")
    assert made.returncode == 0, made.stderr
    token = made.stdout.split()[-1]
    assert token.startswith("ful_")
    from fulfil.engine.store import SQLiteStore

    store = SQLiteStore(tmp_path / "c.db")
    people = load_people(PROCESSES / "people.yaml", load_directory(PROCESSES))
    credentials = Credentials(store, ManualClock(T0), people)
    assert credentials.person_for_token(token) is not None
    assert credentials.check_password("sam", PASSWORD) is not None
    revoked = _cli(tmp_path, "people", "revoke-tokens", "sam")
    assert revoked.returncode == 0 and "revoked 1 token of sam" in revoked.stdout
    assert credentials.person_for_token(token) is None
    store.close()


def test_production_hashes_at_argon2s_default_cost(
    quick_password_hashes: Callable[[], Any],
) -> None:
    """Outside the tests a password costs argon2id's default time and memory."""
    hasher = quick_password_hashes()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    assert hasher.hash(PASSWORD).startswith("$argon2id$v=19$m=65536,t=3,p=4$")
