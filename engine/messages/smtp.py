"""Email delivery over SMTP (standard-library `smtplib`), for the outbox.

`to_email` turns an outbox entry into an `EmailMessage` whose Message-ID is derived from the
outbox id, so a message re-sent after an uncertain attempt (the connection dropped before the
server answered) carries the same id and the receiver can drop the duplicate. `SmtpDelivery`
sends one message and raises `DeliveryError` when it is not accepted: connection failures and 4xx
replies are `retryable`, 5xx replies are not. `backoff` spaces the retries.

Settings come from the environment (`SmtpSettings.from_env`):

    FULFIL_SMTP_HOST      server host (required)
    FULFIL_SMTP_PORT      port (default 465 with SSL, 587 with STARTTLS, else 25)
    FULFIL_SMTP_STARTTLS  1/true/yes/on to upgrade the connection with STARTTLS
    FULFIL_SMTP_SSL       1/true/yes/on for SMTP over TLS from the start (SMTPS)
    FULFIL_SMTP_USER      user name to log in with (no login when unset)
    FULFIL_SMTP_PASSWORD  its password
    FULFIL_SMTP_FROM      the sender address (required)
    FULFIL_SMTP_TIMEOUT   seconds to wait on the server (default 30)
"""

from __future__ import annotations

import hashlib
import os
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from ..clock.durations import backoff  # the retry policy of a failed sending
from ..errors import DeliveryError, UsageError
from .addresses import address_problem

__all__ = ["Attachment", "SmtpDelivery", "SmtpSettings", "backoff", "message_id", "to_email"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message; text content is sent as UTF-8."""

    filename: str
    content: str | bytes
    content_type: str = "application/octet-stream"


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise UsageError(f"{name}={env[name]!r} is not a yes/no value (use 1 or 0)")


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise UsageError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server; the password is kept out of `repr`."""

    host: str
    sender: str
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read the `FULFIL_SMTP_*` variables (see the module docstring).

        Args:
            env: the variables to read; the process environment when omitted.

        Raises:
            UsageError: a required variable is missing or a value is malformed.
        """
        env = os.environ if env is None else env
        host = env.get("FULFIL_SMTP_HOST", "").strip()
        sender = env.get("FULFIL_SMTP_FROM", "").strip()
        missing = [
            n for n, v in (("FULFIL_SMTP_HOST", host), ("FULFIL_SMTP_FROM", sender)) if not v
        ]
        if missing:
            raise UsageError(f"email delivery is not configured: set {' and '.join(missing)}")
        use_ssl, starttls = _flag(env, "FULFIL_SMTP_SSL"), _flag(env, "FULFIL_SMTP_STARTTLS")
        if use_ssl and starttls:
            raise UsageError("set only one of FULFIL_SMTP_SSL and FULFIL_SMTP_STARTTLS")
        default_port = 465 if use_ssl else 587 if starttls else 25
        port = _number(env, "FULFIL_SMTP_PORT", default_port)
        if port != int(port) or port > 65535:
            raise UsageError(f"FULFIL_SMTP_PORT={port!r} is not a port number")
        return cls(
            host=host,
            sender=sender,
            port=int(port),
            starttls=starttls,
            ssl=use_ssl,
            username=env.get("FULFIL_SMTP_USER") or None,
            password=env.get("FULFIL_SMTP_PASSWORD") or None,
            timeout=_number(env, "FULFIL_SMTP_TIMEOUT", 30.0),
        )


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {message}".strip()


def _refusal(exc: smtplib.SMTPResponseException, what: str) -> DeliveryError:
    code = exc.smtp_code
    retryable = 400 <= code < 500
    kind = "temporarily" if retryable else "permanently"
    return DeliveryError(
        f"SMTP server {kind} refused the {what}: {_reply(code, exc.smtp_error)}",
        retryable=retryable,
        reply_code=code,
    )


class SmtpDelivery:
    """Sends messages through one SMTP server, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        return smtplib.SMTP(s.host, s.port, timeout=s.timeout)

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to every address in its To and Cc headers.

        Raises:
            DeliveryError: the message was not accepted. `retryable` is true for connection
                failures and 4xx replies, false for 5xx replies, a refused login, a server
                without STARTTLS, and when the server accepted some recipients but refused
                others (sending again would duplicate the message for those it accepted).
        """
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            with self._connect() as client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                refused = client.send_message(message, from_addr=s.sender)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            detail = "; ".join(f"{a}: {_reply(c, t)}" for a, (c, t) in exc.recipients.items())
            retryable = all(400 <= code < 500 for code in codes)
            code = max(codes) if codes else None
            raise DeliveryError(
                f"SMTP server at {where} refused every recipient: {detail}",
                retryable=retryable,
                reply_code=code,
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise _refusal(exc, f"sender {s.sender}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise _refusal(exc, f"login as {s.username}") from None
        except smtplib.SMTPResponseException as exc:
            raise _refusal(exc, "message") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP server at {where}: {exc}", retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise DeliveryError(
                f"cannot deliver through SMTP server at {where}: {reason}", retryable=True
            ) from None
        if refused:
            detail = "; ".join(f"{a}: {_reply(c, t)}" for a, (c, t) in refused.items())
            raise DeliveryError(
                f"SMTP server at {where} accepted the message but refused some recipients: "
                f"{detail}",
                retryable=False,
                reply_code=max(code for code, _ in refused.values()),
            )


def message_id(outbox_id: str, sender: str) -> str:
    """A Message-ID that is the same every time for the same outbox id and sender."""
    local = outbox_id if _SAFE_ID.fullmatch(outbox_id) else _digest(outbox_id)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "fulfil.invalid"
    return f"<fulfil.{local}@{domain}>"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def to_email(
    *,
    outbox_id: str,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    cc: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    channel: str = "email",
    sent_at: datetime | None = None,
) -> EmailMessage:
    """The email for one outbox entry.

    Args:
        outbox_id: the entry's id; the Message-ID is derived from it (see `message_id`).
        sender: the From address.
        to: recipient addresses (at least one).
        subject: the subject line.
        body: the plain-text body.
        cc: copied addresses.
        attachments: files to attach.
        channel: the outbox channel; only `email` can go by SMTP.
        sent_at: the Date header, when given (engine code passes its clock's time).

    Raises:
        DeliveryError: (not retryable) the channel is not email, there is no recipient, or a
            header (sender, recipients, subject) holds a line break, or a recipient is not one
            valid address (a list, a display name: see `engine.messages.addresses`).
    """
    if channel != "email":
        raise DeliveryError(f"channel '{channel}' cannot be delivered by email", retryable=False)
    if not to:
        raise DeliveryError(f"outbox entry {outbox_id} has no recipient", retryable=False)
    headers = {"From": sender, "To": ", ".join(to), "Cc": ", ".join(cc), "Subject": subject}
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            # The email package refuses some such headers and lets others end the header block
            # early; either way sending again cannot help.
            shown = value if len(value) <= 60 else value[:57] + "..."
            raise DeliveryError(
                f"outbox entry {outbox_id}: the {name} header holds a line break ({shown!r}); "
                "a header is one line: take the line break out of the value it comes from",
                retryable=False,
            )
    for address in (*to, *cc):
        problem = address_problem(address)
        if problem is not None:
            raise DeliveryError(
                f"outbox entry {outbox_id}: recipient {address!r} refused: {problem}",
                retryable=False,
            )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = headers["To"]
    if cc:
        message["Cc"] = headers["Cc"]
    message["Subject"] = subject
    message["Message-ID"] = message_id(outbox_id, sender)
    if sent_at is not None:
        message["Date"] = format_datetime(sent_at)
    message.set_content(body)
    for item in attachments:
        _attach(message, item)
    return message


def _attach(message: EmailMessage, item: Attachment) -> None:
    maintype, _, subtype = item.content_type.partition("/")
    content = item.content
    params: dict[str, str] = {}
    if isinstance(content, str):
        # Attached as bytes, base64: the email package would rewrite a text's line ends, and a
        # data file (a CSV with CRLF rows and line feeds inside cells) must arrive byte-exact.
        content = content.encode("utf-8")
        params["charset"] = "utf-8"
    message.add_attachment(
        content,
        maintype=maintype,
        subtype=subtype or "octet-stream",
        filename=item.filename,
        params=params,
    )
