"""PyYAML's syntax errors told in plain words, for the people who write process files.

PyYAML (and libyaml under it) reports what its parser expected ("did not find expected key",
"mapping values are not allowed in this context"). `syntax_problem` looks at the text around
the mark to say what the author most likely did (a line indented out of step, a missing `:`,
a quote or bracket never closed, a tab, a `-` list item among `key: value` entries, a `: `
inside an unquoted value) and what to write instead, at the line and column to fix. What it does
not recognise keeps PyYAML's words, marked as a YAML syntax error.
"""

from __future__ import annotations

import re

import yaml

from ..errors import Location, Problem

__all__ = ["syntax_problem"]

_OPENERS = {"flow sequence": ("list", "[", "]"), "flow mapping": ("mapping", "{", "}")}
_ALIAS = re.compile(r"\*([^\s,\[\]{}]+)")
# A line whose value opens with a quote: `key: "...`, `- "...`, or a quote alone.
_OPENING_QUOTE = re.compile(r"^\s*(?:- )?(?:[^\s:#'\"][^:#]*:\s+)?([\"'])")
_LOOK_BACK = 50  # lines searched for a quote left open
_GLUED_COLON = re.compile(r"^\s*(- )?([^\s:#'\"]+):(\S.*)$")  # `key:value`, no space


def _spaces(count: int) -> str:
    return f"{count} space" if count == 1 else f"{count} spaces"


def _closes(rest: str, quote: str) -> bool:
    """Whether a quoted value whose text (after the opening quote) begins `rest` ends on it."""
    if quote == "'":
        return "'" in rest.replace("''", "")
    return re.search(r'(?<!\\)(?:\\\\)*"', rest) is not None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _previous(lines: list[str], line: int) -> tuple[int, str] | None:
    """The nearest line above `line` (0-based) with content, and its number."""
    for number in range(min(line, len(lines)) - 1, -1, -1):
        text = lines[number]
        if text.strip() and not text.lstrip().startswith("#"):
            return number, text
    return None


class _Reader:
    """One syntax error: its marks, the text's lines, and the plain message for it."""

    def __init__(self, text: str, exc: yaml.MarkedYAMLError) -> None:
        self.lines = text.splitlines()
        self.exc = exc
        self.problem = exc.problem or ""
        self.context = exc.context or ""
        mark = exc.problem_mark or exc.context_mark
        self.line, self.column = (mark.line, mark.column) if mark is not None else (0, 0)
        start = exc.context_mark
        self.start = (start.line, start.column) if start is not None else None

    def text(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else ""

    def char(self) -> str:
        text = self.text(self.line)
        return text[self.column] if self.column < len(text) else ""

    def read(self) -> tuple[int, int, str] | None:
        """The place and message, or None when the error is not one recognised here."""
        here = self.text(self.line)
        if "\t" in here[: min(self.column + 1, len(here) - len(here.lstrip(" \t")))]:
            return (
                self.line,
                self.column,
                "tab character in indentation: YAML indents with spaces only",
            )
        if "cannot start any token" in self.problem:
            return self.unexpected_character()
        if "quoted scalar" in self.context:
            return self.quoted()
        if "simple key" in self.context and "':'" in self.problem:
            return self.missing_colon(self.start or (self.line, self.column))
        if "mapping values are not allowed" in self.problem:
            return self.colon_in_value()
        for kind, words in _OPENERS.items():
            if kind in self.context:
                return self.unclosed(*words)
        if "flow node" in self.context:
            opened = self.open_bracket()
            if opened is not None:
                line, column, opener = opened
                self.start = (line, column)
                noun = "list" if opener == "[" else "mapping"
                return self.unclosed(noun, opener, "]" if opener == "[" else "}")
        if "block mapping" in self.context or "block collection" in self.context:
            return self.out_of_step()
        return self.document()

    def document(self) -> tuple[int, int, str] | None:
        """Mistakes about the document as a whole: a second one, an alias to nothing, a
        top-level key indented less than the first."""
        if "<document start>" in self.problem:
            return (
                self.line,
                self.column,
                "this line is indented less than the first key of the file: indent every "
                "top-level key the same, usually not at all",
            )
        if "another document" in self.problem:
            return (
                self.line,
                self.column,
                "a second document starts here (`---`): a file holds one document; "
                "remove the `---` line or move what follows to a file of its own",
            )
        if "undefined alias" in self.problem:
            found = _ALIAS.match(self.text(self.line)[self.column :])
            name = found.group(1) if found else "?"
            return (
                self.line,
                self.column,
                f"`*{name}` repeats an anchor `&{name}` that is not defined above it: "
                f"write `&{name}` on the value to repeat, before this line",
            )
        return None

    def unexpected_character(self) -> tuple[int, int, str]:
        char = self.char() or "?"
        return (
            self.line,
            self.column,
            f"a value cannot start with '{char}': put the whole value in quotes, "
            f'e.g. "{char}..."',
        )

    def quoted(self) -> tuple[int, int, str]:
        line, column = self.start or (self.line, self.column)
        quote = self.text(line)[column : column + 1] or '"'
        if "end of stream" in self.problem or "end of the stream" in self.problem:
            return (
                line,
                column,
                f"the quote {quote} opened here is never closed: add the closing {quote} "
                "at the end of the value",
            )
        if "escape" in self.problem:
            return (
                self.line,
                self.column,
                "unknown escape (`\\` followed by a letter) in a double-quoted value: "
                "write `\\\\` for a backslash, or use single quotes",
            )
        return (line, column, f"the quoted value opened here cannot be read: {self.problem}")

    def missing_colon(self, where: tuple[int, int]) -> tuple[int, int, str]:
        line, column = where
        glued = _GLUED_COLON.match(self.text(line))
        if glued is not None:
            key, value = glued.group(2), glued.group(3).strip()
            return (
                line,
                glued.start(2),
                f"a `:` after a key needs a space before the value: write `{key}: {value}`",
            )
        if len(self.text(line).split()) > 3:  # words, not a `key value` pair: running text
            return (
                line,
                column,
                "this line has no `:`, so it reads as a new key: if it continues the text "
                "above, indent it further than that text's key; a new entry is `key: value`",
            )
        key, _, value = self.text(line).strip().partition(" ")
        example = f"{key}: {value.strip()}".strip()
        return (
            line,
            column,
            f"missing `:` after the key: write `key: value`, here `{example}`",
        )

    def colon_in_value(self) -> tuple[int, int, str]:
        here = self.text(self.line)
        above = _previous(self.lines, self.line)
        starts_key = re.match(r"\s*(- )?[^\s:#'\"][^:]*$", here[: self.column])
        if above is not None and starts_key and _GLUED_COLON.match(above[1]):
            # `key:value` above is read as text running on into this line
            return self.missing_colon((above[0], _indent(above[1])))
        if above is not None and starts_key and _indent(here) > _indent(above[1]):
            number, text = above
            if ":" not in text and not text.lstrip().startswith("-"):
                return self.missing_colon((number, _indent(text)))
            return (
                self.line,
                _indent(here),
                f"this line is indented more than line {number + 1} above it, which already "
                f"has its value: indent it by {_spaces(_indent(text))} like that line",
            )
        return (
            self.line,
            self.column,
            'a `: ` inside a value: put the whole value in quotes, e.g. title: "Status: Closed"',
        )

    def unclosed(self, noun: str, opener: str, closer: str) -> tuple[int, int, str]:
        start_line, start_column = self.start or (self.line, self.column)
        if self.line == start_line:
            return (
                self.line,
                self.column,
                f"the {noun} opened with `{opener}` at column {start_column + 1} needs a `,` "
                f"between its items, or a `{closer}` to close it, here",
            )
        return (
            start_line,
            start_column,
            f"the {noun} opened here with `{opener}` is never closed: add `{closer}` at its end "
            f"(reading stopped at line {self.line + 1}, column {self.column + 1})",
        )

    def out_of_step(self) -> tuple[int, int, str]:
        here = self.text(self.line)
        start_line, start_column = self.start or (self.line, self.column)
        if self.column == _indent(here) and here[self.column : self.column + 2] in ("- ", "-"):
            return (
                self.line,
                self.column,
                "a `-` list item among `key: value` entries (the mapping starts at line "
                f"{start_line + 1}): write `key: value` here, or put the list under a key of "
                "its own",
            )
        if self.column == _indent(here) and self.column != start_column:
            return (
                self.line,
                self.column,
                f"this line is indented {_spaces(self.column)} but the keys it belongs with "
                f"(from line {start_line + 1}) are indented {start_column}: line it up with "
                "them",
            )
        left_open = self.quote_left_open(start_line)
        if left_open is not None:
            line, column, quote = left_open
            return (
                line,
                column,
                f"the quote {quote} opened here is not closed on its line: add the closing "
                f"{quote} at the end of the value",
            )
        return (
            self.line,
            self.column,
            "unexpected text after the value: put the whole value in quotes, or start a new "
            "`key: value` line",
        )

    def open_bracket(self) -> tuple[int, int, str] | None:
        """The last `[` or `{` before the error that is not closed by then (quotes skipped)."""
        stack: list[tuple[int, int, str]] = []
        first = max(0, self.line - _LOOK_BACK)
        for line in range(first, min(self.line + 1, len(self.lines))):
            text = self.text(line)
            end = self.column if line == self.line else len(text)
            quote = ""
            for column, char in enumerate(text[:end]):
                if quote:
                    quote = "" if char == quote else quote
                elif char in "'\"":
                    quote = char
                elif char == "#" and (column == 0 or text[column - 1] == " "):
                    break
                elif char in "[{":
                    stack.append((line, column, char))
                elif char in "]}" and stack:
                    stack.pop()
        return stack[-1] if stack else None

    def quote_left_open(self, since: int) -> tuple[int, int, str] | None:
        """The nearest line above the error whose quoted value does not end on it."""
        for line in range(self.line - 1, max(since, self.line - _LOOK_BACK) - 1, -1):
            text = self.text(line)
            found = _OPENING_QUOTE.match(text)
            if found is not None:
                quote = found.group(1)
                if not _closes(text[found.end() :], quote):
                    return line, found.start(1), quote
        return None


def syntax_problem(file: str, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    """The located problem for a YAML syntax error, in plain words when recognised."""
    reader = _Reader(text, exc)
    found = reader.read()
    if found is not None:
        line, column, message = found
        return Problem(Location(file, line + 1, column + 1), message)
    problem = exc.problem or "invalid YAML"
    context = f" ({exc.context})" if exc.context else ""
    if exc.context and reader.start is not None and reader.start[0] != reader.line:
        line, column = reader.start
        context = f" ({exc.context} started at line {line + 1}, column {column + 1})"
    return Problem(
        Location(file, reader.line + 1, reader.column + 1), f"YAML syntax error: {problem}{context}"
    )
