"""Who may sign in to the workbench: password hashes and API tokens, kept in the store.

Passwords are stored as argon2id hashes (argon2-cffi's defaults), never in YAML and never in
clear. An API token is shown once, when made (`fulfil people token P`); the store keeps only
its SHA-256 digest, so a copy of the database gives no usable token. Tokens are revoked, never
deleted, so the store still says whose a token was. Only active people of the directory may
have credentials, and a person made inactive can no longer sign in with what they had.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..clock.clocks import Clock
from ..errors import UsageError
from ..people.directory import Directory, Person, unknown_person
from ..store.base import Store, TokenRecord

__all__ = ["MIN_PASSWORD", "TOKEN_PREFIX", "Credentials", "token_digest"]

MIN_PASSWORD = 8
TOKEN_PREFIX = "ful_"


def token_digest(token: str) -> str:
    """The SHA-256 hex digest the store keeps of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


class Credentials:
    """Set and check passwords, make, check and revoke API tokens.

    Args:
        store: where hashes and token digests live.
        clock: dates a password change, a token and its revocation.
        people: the directory; credentials belong to its active people only.
    """

    def __init__(self, store: Store, clock: Clock, people: Directory) -> None:
        self.store = store
        self.clock = clock
        self.people = people
        self._hasher = _hasher()
        # checking an unknown name costs what checking a known one does (no timing oracle)
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def _person(self, person_id: str) -> Person:
        person = self.people.person(person_id)
        if person is None:
            raise UsageError(
                f"{unknown_person(self.people, person_id)}; credentials are for the people of "
                "the directory (people.yaml)"
            )
        if not person.active:
            raise UsageError(f"person '{person_id}' is inactive (active: false): no credentials")
        return person

    def set_password(self, person_id: str, password: str) -> None:
        """Store a new password hash for the person (the old one stops working).

        Raises:
            UsageError: unknown or inactive person, or a password shorter than MIN_PASSWORD.
        """
        self._person(person_id)
        if len(password) < MIN_PASSWORD:
            raise UsageError(
                f"the password must have at least {MIN_PASSWORD} characters; choose a longer one"
            )
        hashed = self._hasher.hash(password)
        with self.store.transaction() as tx:
            tx.set_password(person_id, hashed, self.clock.now())

    def check_password(self, person_id: str, password: str) -> Person | None:
        """The person, when the password is theirs and they are active; else None."""
        from argon2.exceptions import InvalidHashError, VerificationError

        person = self.people.person(person_id)
        with self.store.transaction(write=False) as tx:
            hashed = tx.get_password(person_id) if person is not None else None
        try:
            self._hasher.verify(hashed or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return None
        if hashed is None or person is None or not person.active:
            return None
        return person

    def new_token(self, person_id: str) -> str:
        """Make an API token for the person; the token is returned once and not stored."""
        self._person(person_id)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            tx.add_token(TokenRecord(token_digest(token), person_id, self.clock.now()))
        return token

    def person_for_token(self, token: str) -> Person | None:
        """The active person whose live token this is, or None."""
        with self.store.transaction(write=False) as tx:
            record = tx.get_token(token_digest(token))
        if record is None or record.revoked_at is not None:
            return None
        person = self.people.person(record.person)
        return person if person is not None and person.active else None

    def revoke_tokens(self, person_id: str) -> int:
        """Revoke every live token of the person; returns how many were live."""
        if self.people.person(person_id) is None:
            self._person(person_id)
        with self.store.transaction() as tx:
            return tx.revoke_tokens(person_id, self.clock.now())
