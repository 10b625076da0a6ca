"""What `fulfil validate` says about a document, as the editor's diagnostics.

The document is read by the readers `fulfil validate` uses, from the editor's text rather than
the file on disk: a process definition by `load_text` (its tasks may start the processes of its
folder, as when the folder is validated, and another file of the folder declaring the same id
and version is reported as `validate` reports it), the people directory by `read_people` and
then against the processes of its folder, a scenario file by `parse_scenarios`. Each problem
keeps its wording and hint; its 1-based line and column become the protocol's 0-based ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..definition.loader import PEOPLE_FILE, declared_id, definition_files, load_file, load_text
from ..errors import DefinitionError, Location, Problem
from .positions import ERROR, WARNING, Diagnostic, Position, Range, to_utf16

if TYPE_CHECKING:
    from ..model import Process

__all__ = [
    "FolderCache",
    "check_findings",
    "diagnose",
    "file_kind",
    "is_foreign",
    "problem_text",
    "to_diagnostics",
]

_TOP_KEY = re.compile(r"^[\"']?([A-Za-z_][\w-]*)[\"']?[ \t]*:", re.MULTILINE)
_ID_LINE = re.compile(r"^id:[ \t]*[\"']?([a-z][a-z0-9_]*)", re.MULTILINE)


def file_kind(path: str | Path | None) -> str:
    """`process`, `scenarios` or `people`, from the file's name (as `fulfil validate` and
    `fulfil test` tell them apart)."""
    name = Path(path).name if path else ""
    if name.endswith(".scenarios.yaml"):
        return "scenarios"
    if name == PEOPLE_FILE:
        return "people"
    return "process"


@dataclass
class FolderCache:
    """The processes of the files of a folder, loaded once per version of each file on disk."""

    _loaded: dict[Path, tuple[tuple[int, int], Process | None]] = field(default_factory=dict)

    def process(self, path: Path) -> Process | None:
        """The process a file defines, or None when it does not load."""
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._loaded.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            process: Process | None = load_file(path, known_processes=None).process
        except (DefinitionError, OSError):
            process = None
        self._loaded[path] = (stamp, process)
        return process

    def processes(self, folder: Path) -> list[Process]:
        found = (self.process(p) for p in definition_files(folder))
        return [p for p in found if p is not None]


def problem_text(problem: Problem) -> str:
    """The message as `fulfil validate` prints it, without the location and severity."""
    return f"{problem.message} ({problem.hint})" if problem.hint else problem.message


def _range(lines: Sequence[str], location: Location) -> Range:
    """From the problem's place to the end of the word (or quoted value) written there."""
    line = max(location.line - 1, 0)
    if line >= len(lines):
        return Range(Position(line, 0), Position(line, 0))
    text = lines[line]
    start = min(max(location.column - 1, 0), len(text))
    if start < len(text) and text[start] in "\"'":
        close = text.find(text[start], start + 1)
        end = close + 1 if close > 0 else len(text)
    else:
        end = _plain_end(text, start)
    return Range(Position(line, to_utf16(text, start)), Position(line, to_utf16(text, end)))


def _plain_end(text: str, start: int) -> int:
    """Where a plain (unquoted) scalar starting at `start` ends: before `: `, ` #`, a flow
    indicator or the end of the line, trailing spaces left out; at least one character."""
    end = start
    while end < len(text):
        ch = text[end]
        if ch in ",[]{}" and end > start:
            break
        if ch == ":" and (end + 1 == len(text) or text[end + 1] in " \t,]}"):
            break
        if ch == "#" and end > start and text[end - 1] in " \t":
            break
        end += 1
    while end > start and text[end - 1] in " \t":
        end -= 1
    return max(end, min(start + 1, len(text)))


def to_diagnostics(problems: Iterable[Problem], text: str) -> list[Diagnostic]:
    """Problems as diagnostics on `text`, in `fulfil validate`'s order."""
    lines = text.splitlines()
    return [
        Diagnostic(_range(lines, p.location), problem_text(p), ERROR if p.is_error else WARNING)
        for p in sorted(problems)
    ]


@cache
def _process_keys() -> frozenset[str]:
    import json

    from ..definition.validate.schema import SCHEMAS

    schema = json.loads(SCHEMAS["process"].read_text(encoding="utf-8"))
    return frozenset(schema["properties"])


def is_foreign(text: str) -> bool:
    """A YAML file that is not fulfil's: its top-level keys are all unknown to a process (an
    editor may send every YAML file of a repository, a CI workflow among them)."""
    keys = set(_TOP_KEY.findall(text))
    return bool(keys) and not keys & _process_keys()


def _known_processes(text: str, path: Path) -> set[str]:
    """The ids its tasks may start: its own and those of its folder's other files."""
    known = {ident for ident in map(declared_id, definition_files(path.parent)) if ident}
    own = _ID_LINE.search(text)
    return known | {own.group(1)} if own else known


def _duplicate(process: Process, path: Path, cache: FolderCache) -> list[Problem]:
    """`validate` on the folder reports a second file declaring an id and version, in the later
    of the two files (by name)."""
    for other in definition_files(path.parent):
        if other.resolve() == path.resolve() or declared_id(other) != process.id:
            continue
        found = cache.process(other)
        if found is not None and found.version == process.version and other.name < path.name:
            message = f"process '{process.id}' version {process.version} is also defined in {other}"
            return [Problem(process.loc, message)]
    return []


def _process_problems(text: str, path: Path | None, cache: FolderCache) -> list[Problem]:
    file = str(path) if path else "<editor>"
    on_disk = path is not None and path.parent.is_dir()
    known = _known_processes(text, path) if on_disk and path else None
    try:
        loaded = load_text(text, file, known_processes=known)
    except DefinitionError as exc:
        return list(exc.problems)
    duplicate = _duplicate(loaded.process, path, cache) if on_disk and path else []
    return [*loaded.warnings, *duplicate]


def _people_problems(text: str, path: Path | None, cache: FolderCache) -> list[Problem]:
    from ..people import people_problems
    from ..people.yamlfile import read_people

    try:
        people = read_people(text, str(path) if path else PEOPLE_FILE)
    except DefinitionError as exc:
        return list(exc.problems)
    processes = cache.processes(path.parent) if path is not None else []
    return people_problems(people, processes)


def _scenario_problems(text: str, path: Path | None) -> list[Problem]:
    from ..testing.scenarios import parse_scenarios

    try:
        parse_scenarios(text, path or "<editor>")
    except DefinitionError as exc:
        return list(exc.problems)
    return []


def diagnose(
    text: str, path: str | Path | None, cache: FolderCache | None = None
) -> list[Diagnostic]:
    """Every problem `fulfil validate` (or, for a scenario file, `fulfil test`) finds in the
    document, as diagnostics; none for a YAML file that is not fulfil's (`is_foreign`).

    Args:
        text: the document as the editor holds it.
        path: where the document lives (its folder holds the processes it refers to); None for
            a document not yet saved.
        cache: the processes of the folder already loaded (a server keeps one).
    """
    where = Path(path) if path else None
    cache = cache if cache is not None else FolderCache()
    kind = file_kind(where)
    if kind == "people":
        problems = _people_problems(text, where, cache)
    elif kind == "scenarios":
        problems = _scenario_problems(text, where)
    elif is_foreign(text):
        problems = []
    else:
        problems = _process_problems(text, where, cache)
    return to_diagnostics(problems, text)


def check_findings(text: str, path: str | Path | None) -> list[Diagnostic]:
    """What `fulfil check FILE` finds in a process that loads (at its own depth, chosen from the
    process: from 8 events until every transition and timer fires, at most 16), as warnings;
    none for a document that does not load or is not a process."""
    from ..checking import explore

    where = Path(path) if path else None
    if file_kind(where) != "process" or is_foreign(text):
        return []
    try:
        process = load_text(text, str(where) if where else "<editor>").process
    except DefinitionError:
        return []
    report = explore(process, depth=None)
    lines = text.splitlines()
    return [
        Diagnostic(_range(lines, f.location), f.message, WARNING, "fulfil check", f.kind)
        for f in report.findings
    ]
