"""Who is asking: signed session cookies, bearer tokens, and a trusted header from an SSO proxy.

A session cookie holds `person|expires|nonce`, signed with HMAC-SHA256 under the server's
secret (no server-side session table: a cookie cannot be forged or extended without the
secret, and it stops working at its expiry). The CSRF token of a form is the HMAC of the
session's nonce, so a page of another site cannot make one. Before sign-in, the login form's
token is bound to a random cookie the same way.

Trusted-header mode (off unless `WebConfig.trusted_header` names a header): the person id is
read from that header, as set by a company SSO proxy in front of the workbench. Only turn it on
when the proxy is the only way to reach the server, and the proxy drops that header from what
clients send; otherwise anybody can claim to be anybody.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..people.directory import Directory, Person
from .credentials import Credentials

__all__ = ["CSRF_FIELD", "LOGIN_COOKIE", "SESSION_COOKIE", "Session", "Signer", "WebConfig"]

SESSION_COOKIE = "fulfil_session"
LOGIN_COOKIE = "fulfil_login"
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class WebConfig:
    """How the workbench authenticates.

    Attributes:
        secret: signs session cookies and CSRF tokens (FULFIL_SESSION_SECRET; random per
            server start when unset, so sessions end when the server restarts).
        session_seconds: how long a sign-in lasts.
        trusted_header: the header an SSO proxy puts the person id in (None: off).
        secure_cookies: mark cookies `Secure` (serve behind HTTPS).
        wall: the wall clock of session expiry (seconds since the epoch); the engine's clock
            (`--now`) dates what instances do, not how long a sign-in lasts.
        page_size: rows per worklist table page.
    """

    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    session_seconds: int = 8 * 3600
    trusted_header: str | None = None
    secure_cookies: bool = False
    wall: Callable[[], float] = time.time
    page_size: int = 25


@dataclass(frozen=True)
class Session:
    """A signed-in person's session as the cookie says."""

    person: str
    expires: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Makes and checks session cookies and CSRF tokens under one secret."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config

    def _mac(self, purpose: str, text: str) -> str:
        digest = hmac.new(self.config.secret, f"{purpose}|{text}".encode(), hashlib.sha256)
        return _b64(digest.digest())

    def issue(self, person: str) -> str:
        """A session cookie value for `person`, valid for `session_seconds`."""
        expires = int(self.config.wall()) + self.config.session_seconds
        payload = _b64(f"{person}|{expires}|{secrets.token_urlsafe(16)}".encode())
        return f"{payload}.{self._mac('session', payload)}"

    def read(self, cookie: str | None) -> Session | None:
        """The session of a cookie that is signed by us and not expired; else None."""
        if not cookie or "." not in cookie:
            return None
        payload, mac = cookie.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac("session", payload)):
            return None
        try:
            person, expires, nonce = _unb64(payload).decode().split("|")
            until = int(expires)
        except (ValueError, UnicodeDecodeError):
            return None
        if until <= self.config.wall():
            return None
        return Session(person, until, nonce)

    def csrf(self, binding: str) -> str:
        """The CSRF token of a session nonce (or of the login cookie before sign-in)."""
        return self._mac("csrf", binding)

    def check_csrf(self, binding: str | None, token: str | None) -> bool:
        if not binding or not token:
            return False
        return hmac.compare_digest(token, self.csrf(binding))


@dataclass(frozen=True)
class Caller:
    """A verified caller: the person, and the value their forms' CSRF tokens are bound to."""

    person: Person
    binding: str  # the session nonce, or the person id in trusted-header mode


class Authenticator:
    """Finds the person behind a request: trusted header, bearer token or session cookie."""

    def __init__(self, config: WebConfig, people: Directory, credentials: Credentials) -> None:
        self.config = config
        self.people = people
        self.credentials = credentials
        self.signer = Signer(config)

    def _active(self, person_id: str | None) -> Person | None:
        person = self.people.person(person_id) if person_id else None
        return person if person is not None and person.active else None

    def from_header(self, headers: Mapping[str, str]) -> Caller | None:
        name = self.config.trusted_header
        if name is None:
            return None
        person = self._active(headers.get(name.lower(), "").strip())
        return None if person is None else Caller(person, f"header:{person.id}")

    def from_cookie(self, cookie: str | None) -> Caller | None:
        session = self.signer.read(cookie)
        person = self._active(session.person if session else None)
        return None if person is None or session is None else Caller(person, session.nonce)

    @staticmethod
    def bearer_token(authorization: str | None) -> str | None:
        """The token of an `Authorization: Bearer TOKEN` header, unchecked."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def from_token(self, token: str) -> Person | None:
        """The active person whose live token this is (a SHA-256 look-up in the store)."""
        return self.credentials.person_for_token(token)
