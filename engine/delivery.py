"""Delivering outbox messages after their transaction committed.

A transition only queues a message (an outbox row in its transaction); an adapter sends it
later, so a slow or failing mail server never blocks or undoes a transition. Adapters here: one
writing to a stream (stdout), one appending JSON lines to a file. Real e-mail (SMTP) plugs in
beside them as another `DeliveryAdapter`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Protocol, TextIO

from engine.store.base import OutboxRecord

__all__ = ["DeliveryAdapter", "FileAdapter", "StdoutAdapter", "message_json"]


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
        out.write(
            f"[{message.channel}] to: {', '.join(message.to)}{cc}\n"
            f"subject: {message.subject}\n\n{message.body}\n\n"
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
