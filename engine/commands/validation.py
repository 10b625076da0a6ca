"""Validation of definition files and folders, as `fulfil validate` reports it.

Each file is loaded on its own (so one broken file does not hide the problems of another);
the processes its tasks may start are those declared in the files given and in each file's
folder. A folder's `people.yaml` (or one named on its own) is checked too, against the
processes of its folder. The report is stable: sorted by file, then line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..definition.loader import PEOPLE_FILE, Loaded, declared_id, definition_files, load_file
from ..errors import DefinitionError, Location, Problem, UsageError
from ..people import people_problems, read_people_file

__all__ = ["FileReport", "collect_files", "format_problem", "validate_paths"]


@dataclass(frozen=True)
class FileReport:
    """The outcome for one file: the loaded process, or the problems that stop it loading."""

    path: Path
    loaded: Loaded | None = None
    problems: tuple[Problem, ...] = field(default=())
    summary: str = ""  # what a valid file that is not a process holds (the people directory)

    @property
    def ok(self) -> bool:
        valid = self.loaded is not None or bool(self.summary)
        return valid and not any(p.is_error for p in self.problems)

    def lines(self) -> list[str]:
        """The report lines: a summary when valid, then every problem in order."""
        out = []
        if self.ok:
            if self.loaded is not None:
                process = self.loaded.process
                counts = f"{len(process.states)} states, {len(process.transitions)} transitions"
                head = f"{process.id} v{process.version}"
            else:
                counts, head = self.summary, "people"
            warnings = sum(1 for p in self.problems if not p.is_error)
            if warnings:
                counts += f", {warnings} warning" + ("s" if warnings > 1 else "")
            out.append(f"OK  {self.path}  ({head}: {counts})")
        out.extend(format_problem(p) for p in sorted(self.problems))
        return out


def format_problem(problem: Problem) -> str:
    """`FILE:LINE:COL: message`, with `warning: ` before warnings and the hint in brackets."""
    marker = "" if problem.is_error else "warning: "
    hint = f" ({problem.hint})" if problem.hint else ""
    return f"{problem.location}: {marker}{problem.message}{hint}"


def collect_files(paths: Sequence[str | Path]) -> list[Path]:
    """The definition files named by `paths` (files, or folders of `*.yaml`), sorted.

    Raises:
        UsageError: a path does not exist, or no definition file was found.
    """
    files: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.update(definition_files(path))
            if (path / PEOPLE_FILE).is_file():
                files.add(path / PEOPLE_FILE)
        elif path.is_file():
            files.add(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    if not files:
        raise UsageError("no process definitions found in " + ", ".join(map(str, paths)))
    return sorted(files)


def _known_ids(files: Iterable[Path]) -> set[str]:
    candidates = set(files)
    for path in list(candidates):
        candidates.update(definition_files(path.parent))
    return {ident for ident in map(declared_id, candidates) if ident}


def _duplicate_ids(reports: list[FileReport]) -> list[FileReport]:
    seen: dict[tuple[str, int], Path] = {}
    out = []
    for report in reports:
        if report.loaded is None:
            out.append(report)
            continue
        process = report.loaded.process
        first = seen.setdefault((process.id, process.version), report.path)
        if first == report.path:
            out.append(report)
            continue
        message = f"process '{process.id}' version {process.version} is also defined in {first}"
        clash = Problem(Location(str(report.path), process.loc.line, process.loc.column), message)
        out.append(FileReport(report.path, report.loaded, (*report.problems, clash)))
    return out


def validate_paths(paths: Sequence[str | Path]) -> list[FileReport]:
    """Load and check every definition named by `paths`; never raises for a bad definition.

    Raises:
        UsageError: a path does not exist, or no definition file was found.
    """
    files = collect_files(paths)
    known = _known_ids(f for f in files if f.name != PEOPLE_FILE)
    reports = []
    for path in files:
        if path.name == PEOPLE_FILE:
            continue
        try:
            loaded = load_file(path, known_processes=known)
        except DefinitionError as exc:
            reports.append(FileReport(path, None, exc.problems))
        except OSError as exc:
            problem = Problem(Location(str(path), 1, 1), f"cannot read the file: {exc.strerror}")
            reports.append(FileReport(path, None, (problem,)))
        else:
            reports.append(FileReport(path, loaded, loaded.warnings))
    reports = _duplicate_ids(reports)
    for path in files:
        if path.name == PEOPLE_FILE:
            reports.append(_people_report(path, reports))
    return sorted(reports, key=lambda r: r.path)


def _people_report(path: Path, reports: list[FileReport]) -> FileReport:
    """The people directory checked on its own, then against the processes of its folder
    (those that loaded; a broken process has its own report)."""
    folder = path.parent.resolve()
    processes = [
        r.loaded.process
        for r in reports
        if r.loaded is not None and r.path.parent.resolve() == folder
    ]
    if not processes:
        for other in definition_files(folder):
            try:
                processes.append(load_file(other, known_processes=None).process)
            except (DefinitionError, OSError):
                continue
    try:
        people = read_people_file(path)
    except DefinitionError as exc:
        return FileReport(path, None, exc.problems)
    except OSError as exc:
        problem = Problem(Location(str(path), 1, 1), f"cannot read the file: {exc.strerror}")
        return FileReport(path, None, (problem,))
    directory = people.directory
    active = sum(1 for p in directory if p.active)
    summary = f"{len(directory)} people, {active} active, {len(directory.roles)} roles"
    return FileReport(path, None, tuple(people_problems(people, processes)), summary)
