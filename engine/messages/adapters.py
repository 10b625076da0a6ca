"""Delivering outbox messages after their transaction committed.

A transition only queues a message (an outbox row in its transaction); an adapter sends it
later, so a slow or failing mail server never blocks or undoes a transition. Adapters here: one
writing to a stream (stdout), one appending JSON lines to a file, and `SmtpAdapter` for real
e-mail (attachments included), which hands other channels (`sms`) to a fallback adapter.
`adapter_from_env` picks one the way the CLI does:

    FULFIL_SMTP_HOST set     SMTP (see `smtp` for its variables), others to the fallback
    FULFIL_OUTBOX_FILE set   JSON lines appended to that file
    otherwise                printed to stdout
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from ..clock.clocks import Clock, SystemClock
from ..errors import DeliveryError
from ..store.base import OutboxRecord

if TYPE_CHECKING:  # smtplib and ssl load only when something is sent by SMTP
    from .smtp import SmtpSettings

__all__ = [
    "DeliveryAdapter",
    "FileAdapter",
    "SmtpAdapter",
    "StdoutAdapter",
    "adapter_from_env",
    "message_json",
]


def message_json(message: OutboxRecord) -> dict[str, Any]:
    """The parts of a message an adapter sends."""
    return {
        "id": message.id,
        "instance": message.instance,
        "channel": message.channel,
        "to": list(message.to),
        "cc": list(message.cc),
        "subject": message.subject,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "attachments": [
            {"filename": name, "content_type": kind, "content": text}
            for name, kind, text in message.attachments
        ],
    }


class DeliveryAdapter(Protocol):
    """Sends one message; raises any exception to mark it failed (it is retried later)."""

    def send(self, message: OutboxRecord) -> None: ...


class StdoutAdapter:
    """Prints each message to a stream (stdout by default)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: OutboxRecord) -> None:
        """Write the message as a short header block and its body."""
        out = self.stream or sys.stdout
        cc = f"\ncc: {', '.join(message.cc)}" if message.cc else ""
        files = "".join(f"\nattachment: {name} ({kind})" for name, kind, _ in message.attachments)
        out.write(
            f"[{message.channel}] to: {', '.join(message.to)}{cc}\n"
            f"subject: {message.subject}{files}\n\n{message.body}\n\n"
        )


class FileAdapter:
    """Appends each message as one JSON line to a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, message: OutboxRecord) -> None:
        """Append the message to the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(message_json(message), ensure_ascii=False) + "\n")


class SmtpAdapter:
    """Sends `email` messages through an SMTP server; other channels go to `fallback`.

    The Message-ID comes from the outbox id, so a message sent again after an uncertain attempt
    is recognisable as the same one; the Date header is the clock's time of sending. Raises
    `DeliveryError` (with `retryable`) when the server does not accept a message, and a
    permanent one for a channel nothing can send or a recipient that is not one address.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        fallback: DeliveryAdapter | None = None,
        clock: Clock | None = None,
    ):
        self.settings = settings
        self.fallback = fallback
        self.clock: Clock = clock or SystemClock()
        from .smtp import SmtpDelivery

        self._smtp = SmtpDelivery(settings)

    def send(self, message: OutboxRecord) -> None:
        """Deliver one message (see the class docstring)."""
        if message.channel != "email":
            if self.fallback is None:
                raise DeliveryError(
                    f"no adapter delivers channel '{message.channel}'", retryable=False
                )
            self.fallback.send(message)
            return
        from .smtp import Attachment, to_email

        email = to_email(
            outbox_id=f"outbox-{message.id}",
            sender=self.settings.sender,
            to=message.to,
            cc=message.cc,
            subject=message.subject,
            body=message.body,
            attachments=[Attachment(n, text, kind) for n, kind, text in message.attachments],
            sent_at=self.clock.now(),
        )
        self._smtp.send(email)


def adapter_from_env(
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
    clock: Clock | None = None,
) -> DeliveryAdapter:
    """The adapter the environment asks for (see the module docstring); `clock` dates emails.

    Raises:
        UsageError: FULFIL_SMTP_HOST is set but the SMTP settings are incomplete or malformed.
    """
    env = os.environ if env is None else env
    path = env.get("FULFIL_OUTBOX_FILE", "").strip()
    local: DeliveryAdapter = FileAdapter(path) if path else StdoutAdapter(stream)
    if env.get("FULFIL_SMTP_HOST", "").strip():
        from .smtp import SmtpSettings

        return SmtpAdapter(SmtpSettings.from_env(env), fallback=local, clock=clock)
    return local
