"""From YAML text to a checked `Process`: the one path every definition takes.

    text -> parse (yamlsource) -> JSON Schema (validate.schema)
         -> model (builder) -> checks (validate.process_problems)

Every stage reports all the problems it finds with their locations; the first stage with an
error stops the path and `DefinitionError` carries them all. Warnings are returned with the
process. `load_directory` loads a folder of definitions into a `Catalog`.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DefinitionError, Location, NotFound, Problem, UsageError, did_you_mean
from ..frozen import frozen

if TYPE_CHECKING:
    from ..model import Process
    from .yamlsource import Source

# The checkers (JSON Schema, the graph checks on networkx) and the YAML reader are imported
# when a definition is loaded, not with this module: a command that finds its definitions in
# the cache (engine.commands.cache) never needs them.

__all__ = [
    "PEOPLE_FILE",
    "Catalog",
    "Loaded",
    "declared_id",
    "definition_files",
    "load_directory",
    "load_file",
    "load_files",
    "load_text",
    "read_text_file",
]


@frozen
class Loaded:
    """A process that passed every check, with the warnings found on the way."""

    process: Process
    warnings: tuple[Problem, ...] = ()


def _source(text: str, file: str) -> Source:
    from .validate.schema import schema_problems
    from .yamlsource import parse

    source = parse(text, file)
    problems = schema_problems(source)
    if problems:
        raise DefinitionError(problems)
    return source


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a definition is loaded.

    Loading allocates hundreds of thousands of small objects (nodes, data, model) and none of
    them are garbage until the end; the collector would scan them again and again: with it
    running, a 5,000-transition definition takes about three times as long to load.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_text(
    text: str, file: str = "<string>", *, known_processes: Collection[str] | None = None
) -> Loaded:
    """Load and check one process definition.

    Args:
        text: the YAML text.
        file: the name used in locations.
        known_processes: the ids its tasks may start; None skips that check.

    Returns:
        The process and its warnings.

    Raises:
        DefinitionError: every error found, each with its location.
    """
    with _collector_paused():
        # The parse tree dies when `_load` returns, before the collector resumes: resuming
        # with it still alive would make the collector's first pass scan all of it (about a
        # fifth of the load time of a 5,000-transition definition).
        return _load(text, file, known_processes)


def _load(text: str, file: str, known_processes: Collection[str] | None) -> Loaded:
    from .builder import build_process
    from .validate import process_problems

    source = _source(text, file)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    process, problems = build_process(source, digest)
    if any(p.is_error for p in problems):
        raise DefinitionError(problems)
    problems += process_problems(process, known_processes=known_processes, locate=source.locate)
    if any(p.is_error for p in problems):
        raise DefinitionError(problems)
    return Loaded(process, tuple(sorted(problems)))


def read_text_file(path: Path) -> str:
    """A definition, people or scenario file's text, which must be UTF-8.

    Raises:
        DefinitionError: the file is not UTF-8 text (located at its first line).
        OSError: the file cannot be read.
    """
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(Location(str(path), 1, 1), f"the file is not UTF-8 text ({exc.reason})")
        raise DefinitionError([problem]) from None


def load_file(path: str | Path, *, known_processes: Collection[str] | None = None) -> Loaded:
    """Load and check the definition in a file (see `load_text`).

    Raises:
        DefinitionError: the definition has errors.
        OSError: the file cannot be read.
    """
    path = Path(path)
    return load_text(read_text_file(path), str(path), known_processes=known_processes)


PEOPLE_FILE = "people.yaml"  # the folder's people directory (engine.people), not a process


def definition_files(folder: str | Path) -> list[Path]:
    """The process definitions in a folder: `*.yaml` except `*.scenarios.yaml` and the people
    directory `people.yaml`, sorted."""
    return sorted(
        p
        for p in Path(folder).glob("*.yaml")
        if not p.name.endswith(".scenarios.yaml") and p.name != PEOPLE_FILE
    )


_ID_LINE = r"(?m)^id:[ \t]*[\"']?([a-z][a-z0-9_]*)"


def declared_id(path: Path) -> str | None:
    """The `id:` of a file, read without checking it, so that tasks can name its process."""
    try:
        found = re.search(_ID_LINE, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return found.group(1) if found else None


@frozen
class Catalog:
    """The processes of a folder, by id and version."""

    processes: tuple[Process, ...] = ()
    warnings: tuple[Problem, ...] = ()
    _by_id: dict[str, dict[int, Process]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for process in self.processes:
            self._by_id.setdefault(process.id, {})[process.version] = process

    @property
    def ids(self) -> list[str]:
        """The process ids, sorted."""
        return sorted(self._by_id)

    def __iter__(self) -> Iterator[Process]:
        return iter(self.processes)

    def __len__(self) -> int:
        return len(self.processes)

    def get(self, process_id: str, version: int | None = None) -> Process:
        """The process with this id, at `version` or the latest.

        Raises:
            NotFound: no such process or version; the message lists what there is.
        """
        versions = self._by_id.get(process_id)
        if versions is None:
            hint = did_you_mean(process_id, self._by_id) or "no processes are loaded"
            raise NotFound(f"unknown process '{process_id}'; {hint}")
        if version is None:
            return versions[max(versions)]
        if version not in versions:
            have = ", ".join(str(v) for v in sorted(versions))
            raise NotFound(f"process '{process_id}' has no version {version}; it has {have}")
        return versions[version]


def load_files(paths: Iterable[Path], *, known_processes: Collection[str] | None = None) -> Catalog:
    """Load several definition files, reporting the errors of all of them together.

    Raises:
        DefinitionError: the problems of every invalid file.
    """
    loaded: list[Loaded] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            loaded.append(load_file(path, known_processes=known_processes))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    _refuse_duplicates(loaded)
    from .validate.family import family_problems

    family = family_problems(item.process for item in loaded)
    if any(problem.is_error for problem in family):
        raise DefinitionError(family)
    warnings = tuple(w for item in loaded for w in item.warnings) + tuple(family)
    return Catalog(tuple(item.process for item in loaded), warnings)


def _refuse_duplicates(loaded: list[Loaded]) -> None:
    seen: dict[tuple[str, int], Process] = {}
    problems = []
    for item in loaded:
        process = item.process
        first = seen.setdefault((process.id, process.version), process)
        if first is not process:
            message = (
                f"process '{process.id}' version {process.version} is also defined in "
                f"{first.source_file}"
            )
            problems.append(Problem(process.loc, message))
    if problems:
        raise DefinitionError(problems)


def load_directory(path: str | Path) -> Catalog:
    """Load every definition of a folder; tasks may start any process of the folder.

    Raises:
        UsageError: the folder does not exist.
        DefinitionError: the problems of every invalid file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"no such folder: {folder}")
    files = definition_files(folder)
    known = {ident for ident in map(declared_id, files) if ident}
    return load_files(files, known_processes=known)
