"""Validation of definition files and folders, as `fulfil validate` reports it.

Each file is loaded on its own (so one broken file does not hide the problems of another);
the processes its tasks may start are those declared in the files given and in each file's
folder. The report is stable: sorted by file, then line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DefinitionError, Location, Problem, UsageError
from ..loader import Loaded, declared_id, definition_files, load_file

__all__ = ["FileReport", "collect_files", "format_problem", "validate_paths"]


@dataclass(frozen=True)
class FileReport:
    """The outcome for one file: the loaded process, or the problems that stop it loading."""

    path: Path
    loaded: Loaded | None = None
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.loaded is not None and not any(p.is_error for p in self.problems)

    def lines(self) -> list[str]:
        """The report lines: a summary when valid, then every problem in order."""
        out = []
        if self.loaded is not None and self.ok:
            process = self.loaded.process
            counts = f"{len(process.states)} states, {len(process.transitions)} transitions"
            warnings = sum(1 for p in self.problems if not p.is_error)
            if warnings:
                counts += f", {warnings} warning" + ("s" if warnings > 1 else "")
            out.append(f"OK  {self.path}  ({process.id} v{process.version}: {counts})")
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
    known = _known_ids(files)
    reports = []
    for path in files:
        try:
            loaded = load_file(path, known_processes=known)
        except DefinitionError as exc:
            reports.append(FileReport(path, None, exc.problems))
        except OSError as exc:
            problem = Problem(Location(str(path), 1, 1), f"cannot read the file: {exc.strerror}")
            reports.append(FileReport(path, None, (problem,)))
        else:
            reports.append(FileReport(path, loaded, loaded.warnings))
    return _duplicate_ids(reports)
