"""Log lines of the long-running commands (`fulfil worker`, `fulfil serve`), with `logging`.

One line per record: the time (UTC, ISO-8601), the level, the logger, the message, and the
instance and trigger it is about when there is one:

    2026-01-12T09:00:00.120Z INFO fulfil.worker timer fired: ... instance=fa-1 trigger=remind

`--log-format json` writes one JSON object per line instead (for log shippers):

    {"time": "2026-01-12T09:00:00.120Z", "level": "INFO", "logger": "fulfil.worker",
     "message": "timer fired: ...", "instance": "facebook_access-1", "trigger": "next_call_due"}

Code logs through `logging.getLogger("fulfil.<part>")` and passes the instance and trigger as
`extra={"instance": ..., "trigger": ...}`; `configure_logging` installs the handler once.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["LOG_FORMATS", "JsonFormatter", "TextFormatter", "configure_logging", "context"]

LOG_FORMATS = ("text", "json")
_FIELDS = ("instance", "trigger")


def context(instance: str | None = None, trigger: str | None = None) -> dict[str, Any]:
    """The `extra=` of a log call about an instance (and a trigger)."""
    return {"instance": instance, "trigger": trigger}


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class TextFormatter(logging.Formatter):
    """`TIME LEVEL LOGGER message instance=... trigger=...` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\n", " ")
        facts = "".join(
            f" {name}={value}"
            for name in _FIELDS
            if (value := getattr(record, name, None)) is not None
        )
        line = f"{_time(record)} {record.levelname} {record.name} {message}{facts}"
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, instance, trigger."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(
    fmt: str = "text", *, stream: IO[str] | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send the `fulfil` loggers' records to `stream` (default stdout), one line each.

    Calling it again replaces the handler it installed before.

    Raises:
        ValueError: a format other than text or json.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"--log-format is text or json, not '{fmt}'")
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name("fulfil")
    logger = logging.getLogger("fulfil")
    for old in [h for h in logger.handlers if h.get_name() == "fulfil"]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
