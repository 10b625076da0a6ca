"""Instances' histories as HTML, for a report that shows what happened next to what may happen.

`fulfil demo` puts each demo instance's history under its process's diagram. The input is the
JSON of the CLI contract (`show --json` and `history --json`), so the renderers need nothing of
the runtime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .html_tables import cell, code

__all__ = ["history_html"]

Shown = Mapping[str, Any]
Event = Mapping[str, Any]


def _status(shown: Shown) -> str:
    status, reason = shown.get("status") or "", shown.get("closure_reason") or ""
    return f"{status} / {reason}" if reason else status


def _who(event: Event) -> str:
    actor, role = event.get("actor") or "", event.get("role")
    return f"{actor}:{role}" if role else actor


def _step(event: Event) -> str:
    """What the event did: its trigger (or kind) and the move, e.g. `begin` new → in_progress."""
    source, dest = event.get("source"), event.get("dest")
    kind, name = str(event.get("kind") or ""), event.get("trigger")
    move = ""
    if dest and dest != source:
        move = f"{source} → {dest}" if source else f"→ {dest}"
    label = code(name) if name else escape(kind)
    if name and kind not in ("transition", "start"):
        label += f" ({escape(kind)})"
    return " ".join(part for part in (label, escape(move)) if part)


def _pairs(values: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{key} = {value if isinstance(value, str) else json.dumps(value)}"
        for key, value in values.items()
    )


def _changes(event: Event) -> str:
    """The data the event changed, or for a notification, refusal or activity what it was."""
    data = event.get("data") or {}
    detail = event.get("detail") or {}
    kind = event.get("kind")
    if kind == "notification":
        to = ", ".join(detail.get("to") or ())
        return cell(f"{detail.get('channel', '')} to {to}: {detail.get('subject', '')}")
    if kind == "refused":
        return cell(detail.get("error") or _pairs(detail))
    if data:
        return cell(", ".join(f"{name} = {json.dumps(value)}" for name, value in data.items()))
    return cell(_pairs(detail) if kind not in ("start", "transition") else "")


def _instance(shown: Shown, events: Sequence[Event]) -> str:
    ident = str(shown.get("id", ""))
    head = (
        f'<h4 id="instance-{escape(ident)}"><code>{escape(ident)}</code>: '
        f"{escape(str(shown.get('state', '')))} ({escape(_status(shown))})</h4>"
    )
    rows = [
        "<tr>"
        + "".join(
            f"<td>{c}</td>"
            for c in (
                cell(event.get("seq")),
                cell(event.get("at")),
                cell(_who(event)),
                _step(event),
                _changes(event),
            )
        )
        + "</tr>"
        for event in events
    ]
    header = "".join(f"<th>{h}</th>" for h in ("#", "at", "who", "step", "data / detail"))
    return "\n".join([head, '<table class="history">', f"<tr>{header}</tr>", *rows, "</table>"])


def history_html(
    runs: Sequence[tuple[Shown, Sequence[Event]]], *, title: str = "The demo's instances"
) -> str:
    """A heading, then each instance (as `show --json`) with its history (`history --json`)."""
    if not runs:
        return ""
    parts = [f"<h3>{escape(title)}</h3>"]
    parts += [_instance(shown, events) for shown, events in runs]
    return "\n".join(parts)
