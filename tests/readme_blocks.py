"""The README's runnable blocks: parsing them and checking what they print.

A fenced block whose info string is `console` is a shell session:

    $ fulfil outbox                   # a command; a trailing comment is fine
      1 [pending] email to ...
    $ id=$(fulfil start x \\
        --data '{"a": 1,
                 "b": 2}')

The lines after a command, up to the next `$ `, are what it prints. A line ending in a backslash,
or inside an open quote, continues the command on the next line.

What a command prints is checked line by line: without a `...` line the output must be exactly
the lines shown; with one, the lines shown must appear in that order, `...` standing for any
lines, and `...` inside a line standing for any text. A command shown printing an `error:` line
must fail (non-zero exit), every other command must succeed. The commands of a block run in one
bash session, so `export` and `id=$(...)` carry over to the next command, as when a person types
them.

A fenced `python` block is a script; a `print(...)` whose line ends with `# TEXT` promises TEXT
as a line of its output.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)
ELLIPSIS = "..."


@dataclass(frozen=True)
class Command:
    """One `$ ` command of a console block and the output lines the README shows for it."""

    line: int  # where it is in the README (1-based)
    text: str
    expected: tuple[str, ...]

    @property
    def must_fail(self) -> bool:
        return any(line.lstrip().startswith("error:") for line in self.expected)


@dataclass(frozen=True)
class Block:
    kind: str  # "console" or "python"
    line: int
    text: str

    def commands(self) -> list[Command]:
        return parse_console(self.text, self.line)


def blocks(readme: Path, kind: str) -> list[Block]:
    """The README's fenced blocks of one kind, with the line each starts on."""
    text = readme.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        if match.group(1) == kind:
            line = text.count("\n", 0, match.start(2)) + 1
            found.append(Block(kind, line, match.group(2)))
    return found


def parse_console(text: str, first_line: int = 1) -> list[Command]:
    """The commands of a console block, each with the output lines shown after it."""
    commands: list[Command] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            if line.strip():
                raise ValueError(f"README line {first_line + index}: output before any command")
            index += 1
            continue
        start = index
        parts = [line[2:]]
        while _continued("\n".join(parts)) and index + 1 < len(lines):
            index += 1
            parts.append(lines[index])
        index += 1
        expected = []
        while index < len(lines) and not lines[index].startswith("$ "):
            expected.append(lines[index].rstrip())
            index += 1
        while expected and not expected[-1]:
            expected.pop()
        commands.append(Command(first_line + start, "\n".join(parts), tuple(expected)))
    return commands


def _continued(command: str) -> bool:
    """Whether a command goes on to the next line: a trailing backslash, or an open quote."""
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command, comments=True)
    except ValueError:  # "No closing quotation"
        return True
    return False


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split(ELLIPSIS)))


def mismatch(expected: tuple[str, ...], actual: str) -> str | None:
    """Why the actual output breaks the README's promise, or None when it keeps it."""
    got = [line.rstrip() for line in actual.splitlines()]
    while got and not got[-1]:
        got.pop()
    if ELLIPSIS not in expected:
        if len(expected) == len(got) and all(
            _pattern(wanted).fullmatch(line) for wanted, line in zip(expected, got, strict=True)
        ):
            return None
        return "the README shows exactly:\n" + "\n".join(expected) + "\nit printed:\n" + actual
    position = 0
    for wanted in expected:
        if wanted == ELLIPSIS or not wanted:
            continue
        pattern = _pattern(wanted)
        while position < len(got) and not pattern.fullmatch(got[position]):
            position += 1
        if position == len(got):
            return (
                f"the README shows the line {wanted!r}, not printed (in order); it printed:\n"
                + (actual)
            )
        position += 1
    return None


def promised_prints(script: str) -> list[str]:
    """The output a python block's `print(...)  # TEXT` lines promise, in order."""
    found = []
    for line in script.splitlines():
        code, _, comment = line.partition("#")
        if code.strip().startswith("print(") and comment.strip():
            found.append(comment.strip())
    return found
