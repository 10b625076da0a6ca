"""Scenario files as a test suite: find them, run them, and report like pytest does.

`run_file` reads one file, loads the processes of its folder (once per folder) and runs each
scenario on a fresh store. A file that cannot run at all (malformed, an unknown process, invalid
definitions in its folder) gives a `FileReport` with located problems and no results.
`result_lines` and `summary_line` are the text `fulfil test` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..definition.loader import Catalog, load_directory
from ..errors import DefinitionError, Location, NotFound, Problem, UsageError, did_you_mean
from ..people import Directory, load_people, people_path
from .inputs import input_problems
from .runner import ScenarioResult, run_scenario
from .scenarios import ScenarioFile, load_scenario_file, scenario_files

__all__ = [
    "Catalogs",
    "FileReport",
    "expand_paths",
    "load_for",
    "result_lines",
    "run_file",
    "run_suite",
    "summary_line",
]


@dataclass(frozen=True)
class FileReport:
    """The outcome of one scenario file: its results, or the problems that stopped it."""

    path: Path
    process: str = ""
    results: tuple[ScenarioResult, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.passed for r in self.results)


@dataclass
class Catalogs:
    """The catalog of each processes folder, loaded once."""

    loaded: dict[Path, Catalog] = field(default_factory=dict)
    people: dict[Path, Directory | None] = field(default_factory=dict)

    def for_folder(self, folder: Path) -> Catalog:
        key = folder.resolve()
        if key not in self.loaded:
            self.loaded[key] = load_directory(folder)
        return self.loaded[key]

    def people_for(self, folder: Path) -> Directory | None:
        """The folder's people directory (its `people.yaml`), checked against its processes;
        None without one: the scenarios then run in open mode.

        Raises:
            DefinitionError: the folder's definitions or its people directory are invalid.
        """
        key = folder.resolve()
        if key not in self.people:
            path = people_path(folder)
            catalog = self.for_folder(folder)
            self.people[key] = load_people(path, catalog) if path is not None else None
        return self.people[key]


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Scenario files named or found in named folders (`*.scenarios.yaml`), in order.

    Raises:
        UsageError: a path does not exist, or a folder holds no scenario file.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = scenario_files(path)
            if not found:
                raise UsageError(f"no *.scenarios.yaml files in {path}")
            out += found
        elif path.is_file():
            out.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return list(dict.fromkeys(out))


def load_for(path: Path, catalogs: Catalogs) -> tuple[ScenarioFile, Catalog]:
    """A scenario file and the catalog of its folder, checked against each other.

    Raises:
        DefinitionError: the file is malformed, names an unknown process, or the folder's
            definitions are invalid.
    """
    parsed = load_scenario_file(path)
    catalog = catalogs.for_folder(path.parent)
    try:
        catalog.get(parsed.process)
    except NotFound:
        hint = did_you_mean(parsed.process, catalog.ids)
        message = f"no process '{parsed.process}' in {path.parent}"
        raise DefinitionError([Problem(parsed.process_location, message, hint=hint)]) from None
    problems = input_problems(parsed, catalog)
    if problems:
        raise DefinitionError(problems)
    return parsed, catalog


def run_file(
    path: Path,
    *,
    store: str = "memory",
    select: str | None = None,
    catalogs: Catalogs | None = None,
    on_result: Callable[[ScenarioResult], None] | None = None,
) -> FileReport:
    """Run the scenarios of one file, each on a fresh store of kind `store`.

    Args:
        path: the scenario file.
        store: `memory` or `sqlite`.
        select: run only the scenarios whose name contains this text (case-insensitive).
        catalogs: loaded catalogs to reuse across files.
        on_result: called with each result as soon as it is known.
    """
    catalogs = catalogs or Catalogs()
    try:
        parsed, catalog = load_for(path, catalogs)
        people = catalogs.people_for(path.parent)
    except DefinitionError as exc:
        return FileReport(path, problems=exc.problems)
    except OSError as exc:
        return FileReport(path, problems=(Problem(_where(path), f"cannot read: {exc}"),))
    results = []
    for scenario in parsed.scenarios:
        if select and select.lower() not in scenario.name.lower():
            continue
        result = run_scenario(scenario, catalog, store=store, people=people)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return FileReport(path, parsed.process, tuple(results))


def _where(path: Path) -> Location:
    return Location(str(path), 1, 1)


def _indent(text: str, by: str) -> list[str]:
    return [by + line for line in text.splitlines()]


def result_lines(result: ScenarioResult) -> list[str]:
    """`PASS process :: name`, or `FAIL ...` followed by the step, expected and found."""
    scenario = result.scenario
    head = f"{scenario.process} :: {scenario.name}"
    failure = result.failure
    if failure is None:
        return [f"PASS {head}"]
    step = failure.step
    lines = [f"FAIL {head}", f"  {step.location}: step {step.number}"]
    lines += _indent("- " + step.text.replace("\n", "\n  "), "    ")
    for mismatch in failure.mismatches:
        lines.append(f"  expected: {mismatch.expected}")
        lines.append(f"  found:    {mismatch.found}")
    return lines


def summary_line(reports: Iterable[FileReport]) -> str:
    """`N passed, M failed` (and how many files could not run)."""
    reports = list(reports)
    passed = sum(1 for r in reports for s in r.results if s.passed)
    failed = sum(1 for r in reports for s in r.results if not s.passed)
    broken = sum(1 for r in reports if r.problems)
    text = f"{passed} passed, {failed} failed"
    if broken:
        text += f", {broken} file{'s' if broken > 1 else ''} with errors"
    return text


def run_suite(
    paths: Iterable[Path],
    *,
    store: str = "memory",
    select: str | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Run scenario files (or the folders holding them) and print a pytest-like report.

    Returns:
        The exit status: 0 when every scenario passed, 1 when one failed, 2 when a file could
        not run (malformed, unknown process, invalid definitions).

    Raises:
        UsageError: a path does not exist, or a folder holds no scenario file.
    """
    catalogs = Catalogs()
    reports = []

    def printed(result: ScenarioResult) -> None:
        for line in result_lines(result):
            echo(line)

    for path in expand_paths(paths):
        report = run_file(path, store=store, select=select, catalogs=catalogs, on_result=printed)
        if report.problems:
            echo(f"ERROR {path}")
            for problem in report.problems:
                echo(f"  {problem}")
        reports.append(report)
    echo(summary_line(reports))
    if any(r.problems for r in reports):
        return 2
    return 0 if all(r.ok for r in reports) else 1
