"""Delivery adapters and the engine's deliver(): messages go out after commit, failures kept."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from fulfil.engine.messages.adapters import FileAdapter, StdoutAdapter
from fulfil.engine.store import OutboxRecord

MESSAGE = OutboxRecord(
    "i-1",
    "email",
    ("a@x.test",),
    ("c@x.test",),
    "Hello",
    "Body text",
    datetime(2026, 3, 2, tzinfo=UTC),
    id=7,
)


def test_stdout_adapter_prints_headers_and_body() -> None:
    """The stdout adapter writes to, cc, subject and body."""
    out = io.StringIO()
    StdoutAdapter(out).send(MESSAGE)
    text = out.getvalue()
    assert "to: a@x.test" in text and "cc: c@x.test" in text
    assert "subject: Hello" in text and "Body text" in text


def test_file_adapter_appends_json_lines(tmp_path: Path) -> None:
    """The file adapter appends one JSON object per message."""
    path = tmp_path / "out" / "mail.jsonl"
    adapter = FileAdapter(path)
    adapter.send(MESSAGE)
    adapter.send(MESSAGE)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2 and lines[0]["to"] == ["a@x.test"] and lines[0]["id"] == 7
