"""Audit keys: the secrets that seal history events, kept outside the database.

A key has an id and a secret. `FULFIL_AUDIT_KEY` holds `ID:SECRET` pairs separated by commas
(a bare `SECRET` has the id `default`); a key file holds one `ID SECRET` per line (`#` starts a
comment). The first key seals new events and checkpoints; every key verifies, so a rotation
puts the new key first and keeps the old ones for the events they sealed. Without any key the
chain is plain SHA-256: it detects accidents, not a forger (docs/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import cached_property
from pathlib import Path

from ..errors import UsageError
from ..frozen import ahead, frozen

__all__ = ["MIN_SECRET", "UNKEYED", "AuditKeys", "keys_from"]

MIN_SECRET = 16
_KEY_ID = r"^[A-Za-z0-9_.-]{1,40}$"
_CHECK = b"fulfil.key-check.1\n"
_GENERATE = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


@frozen
class AuditKeys:
    """Keys by id, the sealing key first; empty: the unkeyed (SHA-256) chain."""

    keys: tuple[tuple[str, bytes], ...] = ()

    @property
    def keyed(self) -> bool:
        """Whether a key seals new events."""
        return bool(self.keys)

    @property
    def signing_id(self) -> str:
        """The id of the key that seals ("" when unkeyed)."""
        return self.keys[0][0] if self.keys else ""

    @property
    def ids(self) -> tuple[str, ...]:
        """Every key id, the sealing one first."""
        return tuple(key_id for key_id, _ in self.keys)

    def seal(self, message: bytes) -> str:
        """The tag of `message` under the sealing key (SHA-256 when unkeyed), in hex."""
        return tag(self.keys[0][1] if self.keys else None, message)

    def tag_with(self, key_id: str, message: bytes) -> str | None:
        """The tag of `message` under the key `key_id` ("" : SHA-256); None for an unknown id."""
        if not key_id:
            return hashlib.sha256(message).hexdigest()
        secret = self._secrets.get(key_id)
        return None if secret is None else hmac.digest(secret, message, "sha256").hex()

    def secret(self, key_id: str) -> bytes | None:
        """The secret of `key_id`, or None."""
        return self._secrets.get(key_id)

    @cached_property
    def _secrets(self) -> dict[str, bytes]:
        """The secrets by id (`verify` asks once per event); a repeated id: the first."""
        found: dict[str, bytes] = {}
        for key_id, secret in self.keys:
            found.setdefault(key_id, secret)
        return found

    @cached_property
    def signing_check(self) -> str:
        """`check_value` of the sealing key, computed once (every event asks for it)."""
        return self.check_value(self.signing_id)

    def check_value(self, key_id: str) -> str:
        """A short value that tells whether a key is the one of that id used before (or "")."""
        secret = self.secret(key_id) if key_id else None
        return "" if secret is None else hmac.digest(secret, _CHECK, "sha256").hex()[:16]


UNKEYED = ahead(AuditKeys, keys=())


def tag(secret: bytes | None, message: bytes) -> str:
    """HMAC-SHA256 of `message` under `secret`, or SHA-256 of it without a secret, in hex."""
    if secret is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.digest(secret, message, "sha256").hex()


def _pair(key_id: str, secret: str, where: str) -> tuple[str, bytes]:
    if not re.match(_KEY_ID, key_id):
        raise UsageError(
            f"{where}: the key id '{key_id}' may use letters, digits, _ . - only (up to 40)"
        )
    if len(secret) < MIN_SECRET:
        raise UsageError(
            f"{where}: the secret of key '{key_id}' has {len(secret)} characters; use at "
            f"least {MIN_SECRET}, e.g. the output of {_GENERATE}"
        )
    return key_id, secret.encode()


def _from_env(text: str) -> list[tuple[str, bytes]]:
    pairs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key_id, sep, secret = part.partition(":")
        if not sep:
            key_id, secret = "default", part
        pairs.append(_pair(key_id.strip(), secret.strip(), "FULFIL_AUDIT_KEY"))
    return pairs


def _from_file(path: Path) -> list[tuple[str, bytes]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(
            f"cannot read the audit key file {path}: {exc.strerror or exc}; give a file with "
            "one `ID SECRET` per line"
        ) from None
    pairs = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        parts = text.split()
        if len(parts) != 2:
            raise UsageError(f"{path}:{number}: write one key per line as `ID SECRET` (two words)")
        pairs.append(_pair(parts[0], parts[1], f"{path}:{number}"))
    if not pairs:
        raise UsageError(f"the audit key file {path} holds no key; write `ID SECRET` lines")
    return pairs


def keys_from(env: str | None, file: Path | None) -> AuditKeys:
    """The audit keys of `FULFIL_AUDIT_KEY` (`env`) or a key file; unkeyed when neither.

    Raises:
        UsageError: both are given, the file cannot be read, an id is repeated, or a line, id
            or secret is malformed (the message says what to write).
    """
    if env and env.strip() and file is not None:
        raise UsageError(
            "the audit key is given twice (FULFIL_AUDIT_KEY and --audit-key-file); give one"
        )
    if file is not None:
        pairs = _from_file(file)
    elif env and env.strip():
        pairs = _from_env(env)
    else:
        return UNKEYED
    seen: set[str] = set()
    for key_id, _ in pairs:
        if key_id in seen:
            raise UsageError(f"the audit key id '{key_id}' is given twice; ids must differ")
        seen.add(key_id)
    return AuditKeys(tuple(pairs))
