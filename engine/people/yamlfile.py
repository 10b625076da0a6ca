"""`people.yaml`: read, check and locate a people directory, like a process definition.

    text -> parse (engine.definition.yamlsource) -> JSON Schema (schemas/people.schema.json)
         -> PeopleDirectory -> its own checks (managers exist, no manager loop)
         -> checks against the processes (engine.people.checks)

Every problem carries `people.yaml:LINE:COL`. The file sits in the processes folder by default
(`PEOPLE_FILE`); `--people FILE` / `FULFIL_PEOPLE` name another one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..definition.loader import PEOPLE_FILE, read_text_file
from ..errors import DefinitionError, Location, Problem, did_you_mean
from ..frozen import frozen
from .directory import PeopleDirectory, Person
from .identity import SYSTEM_ACTORS

if TYPE_CHECKING:  # the YAML reader and the schema check load with the first file read
    from ..definition.yamlsource import Source

__all__ = ["PEOPLE_FILE", "PeopleFile", "people_path", "read_people", "read_people_file"]


@frozen
class PeopleFile:
    """A directory read from YAML, with the parsed source that locates its entries."""

    directory: PeopleDirectory
    source: Source

    def locate(self, *path: str | int, key: bool = False) -> Location:
        """Where `path` (e.g. `"people", "sam", "roles", 0`) is written."""
        return self.source.locate(path, key=key)


def _person(person_id: str, raw: dict[str, Any], loc: Location) -> Person:
    return Person(
        person_id,
        str(raw["name"]),
        str(raw["email"]),
        tuple(raw.get("roles", ())),
        raw.get("manager"),
        raw.get("phone"),
        bool(raw.get("active", True)),
        loc,
    )


def _manager_problems(people: PeopleFile) -> Iterable[Problem]:
    """No person takes a name the engine records for itself; every manager is a person of the
    directory, and no chain of managers loops."""
    directory = people.directory
    for person in directory:
        if person.id in SYSTEM_ACTORS:
            yield Problem(
                people.locate("people", person.id, key=True),
                f"'{person.id}' is what the history records for the engine itself, not a person",
                hint="give the person another id",
            )
    for person in directory:
        if person.manager is not None and directory.person(person.manager) is None:
            yield Problem(
                people.locate("people", person.id, "manager"),
                f"manager '{person.manager}' of '{person.id}' is not a person of the directory",
                hint=directory.suggest(person.manager) or "add them under people:",
            )
    reported: set[str] = set()
    for person in directory:
        path = [person.id]
        current = directory.manager(person.id)
        while current is not None and current.id not in path:
            path.append(current.id)
            current = directory.manager(current.id)
        if current is None or current.id != person.id or reported & set(path):
            continue
        reported.update(path)
        loop = " -> ".join([*path, person.id])
        yield Problem(
            people.locate("people", person.id, "manager"),
            f"managers go round in a loop: {loop}",
            hint="someone at the top of the chain has no manager",
        )


def read_people(text: str, file: str = PEOPLE_FILE) -> PeopleFile:
    """Parse and check a people directory on its own (not yet against processes).

    Raises:
        DefinitionError: every problem found, each with its location.
    """
    from ..definition.validate.schema import PEOPLE_SCHEMA_PATH, schema_problems
    from ..definition.yamlsource import parse

    source = parse(text, file)
    problems = schema_problems(
        source,
        PEOPLE_SCHEMA_PATH,
        "the file is empty: a people directory needs `people:`, e.g. "
        "people: {sam: {name: Sam Lee, email: sam@example.com, roles: [ops_specialist]}}",
    )
    if problems:
        raise DefinitionError(problems)
    raw_people: dict[str, Any] = source.data["people"]
    people = {
        pid: _person(pid, raw, source.locate(("people", pid), key=True))
        for pid, raw in raw_people.items()
    }
    queues = {name: str(q["email"]) for name, q in (source.data.get("queues") or {}).items()}
    loaded = PeopleFile(PeopleDirectory(people, queues, file), source)
    problems = list(_manager_problems(loaded))
    if problems:
        raise DefinitionError(problems)
    return loaded


def read_people_file(path: str | Path) -> PeopleFile:
    """`read_people` on a file.

    Raises:
        DefinitionError: the directory has errors (or the file is not UTF-8 text).
        OSError: the file cannot be read.
    """
    path = Path(path)
    return read_people(read_text_file(path), str(path))


def people_path(folder: str | Path, explicit: str | Path | None = None) -> Path | None:
    """The people file to use: `explicit` (`--people` / `FULFIL_PEOPLE`), else the folder's
    `people.yaml` when there is one, else None (open mode: identities are not verified).

    Raises:
        DefinitionError: `explicit` names a file that does not exist.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*.yaml")])
            problem = Problem(Location(str(path), 1, 1), "no such people file", hint=hint)
            raise DefinitionError([problem])
        return path
    path = Path(folder) / PEOPLE_FILE
    return path if path.is_file() else None
