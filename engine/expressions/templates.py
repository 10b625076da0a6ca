"""Splitting templates into text and `{expression}` holes, and formatting values into text.

`{{` and `}}` write literal braces. A hole ends at the first `}` outside a string literal, so
`{'}' if x else ''}` works. Values are written for people: unset as the empty string, booleans
as true/false, dates ISO, durations as `1d2h30m`, lists comma-separated (`format_value`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ..clock.durations import format_duration
from ..errors import Location
from ..frozen import frozen


@frozen
class Hole:
    """An `{expression}` in a template: its source and the offset of its first character."""

    source: str
    offset: int


def split(text: str) -> tuple[list[str | Hole], list[tuple[int, str]]]:
    """Split a template into literal text and holes; also return (offset, message) errors."""
    parts: list[str | Hole] = []
    errors: list[tuple[int, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "}":
            errors.append((i, "a single `}` in a template; write `}}` for a brace"))
            i += 1
        elif char == "{":
            end = _hole_end(text, i + 1)
            if end < 0:
                errors.append((i, "an unclosed `{` in a template; write `{{` for a brace"))
                break
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Hole(text[i + 1 : end], i + 1))
            i = end + 1
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts, errors


def _hole_end(text: str, start: int) -> int:
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "}":
            return i
        i += 1
    return -1


def location_of(base: Location, text: str, offset: int) -> Location:
    """The location of `text[offset]` given the location of the template's first character."""
    newlines = text.count("\n", 0, offset)
    if not newlines:
        return Location(base.file, base.line, base.column + offset, base.path)
    column = offset - text.rindex("\n", 0, offset)
    return Location(base.file, base.line + newlines, column, base.path)


def format_value(value: Any) -> str:
    """A value as text for people, the one rendering of templates, sheets and batch CSVs.

    Unset is the empty string, booleans `true`/`false`, dates and datetimes ISO-8601,
    durations as a definition writes them (`format_duration`), lists and tuples their items
    rendered the same way and joined by `", "`, anything else `str(value)`.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    return str(value)
