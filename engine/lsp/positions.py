"""The editor's view of positions: 0-based lines, columns counted in UTF-16 code units (the
protocol's default), and ranges ending just after their last character."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ERROR", "WARNING", "Diagnostic", "Position", "Range", "from_utf16", "to_utf16"]

ERROR, WARNING = 1, 2  # the protocol's DiagnosticSeverity values


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position


@dataclass(frozen=True)
class Diagnostic:
    """One of fulfil's problems, as the editor shows it."""

    range: Range
    message: str
    severity: int = ERROR
    source: str = "fulfil"  # "fulfil check" for the model checker's findings
    code: str = ""  # the finding's kind, for those


def to_utf16(line: str, index: int) -> int:
    """The UTF-16 column of the code point at `index` of `line`."""
    head = line[:index]
    return len(head) + sum(1 for ch in head if ord(ch) > 0xFFFF)


def from_utf16(line: str, column: int) -> int:
    """The code point index of the UTF-16 `column` of `line` (clamped to the line)."""
    units = 0
    for index, ch in enumerate(line):
        if units >= column:
            return index
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)
