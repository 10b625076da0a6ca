"""The people directory: the shipped `people.yaml`, the `Directory` protocol and its lookups,
and `fulfil validate` checking a folder's directory."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from fulfil.cli import main
from fulfil.engine.definition.loader import definition_files, load_directory
from fulfil.engine.people import (
    Directory,
    PeopleDirectory,
    Person,
    load_people,
    manager_chain,
    people_path,
)

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"


def _shipped() -> PeopleDirectory:
    return load_people(PROCESSES / "people.yaml", load_directory(PROCESSES))


def test_shipped_directory_fits_the_shipped_processes() -> None:
    """processes/people.yaml loads against every shipped process, with the shipped team in it."""
    directory = _shipped()
    assert [p.id for p in directory.holders("ops_specialist")] == ["sam", "nina"]
    assert directory.person("sam") == Person(
        "sam",
        "Sam Lee",
        "sam.lee@example.com",
        ("ops_specialist",),
        "lee",
        loc=directory.person("sam").loc,  # type: ignore[union-attr]
    )
    assert directory.queue_address("digms_ops") == "digms-ops@example.com"
    assert directory.queue_address("nowhere") is None


def test_inactive_people_hold_no_role() -> None:
    """An inactive person is in the directory but is never a holder of their roles."""
    directory = _shipped()
    riley = directory.person("riley")
    assert riley is not None and not riley.active
    assert riley not in directory.holders("ops_specialist")


def test_manager_chain_walks_up_and_stops_at_a_loop() -> None:
    """manager_chain gives the managers upwards; a loop in code-built data cannot hang it."""
    assert [p.id for p in manager_chain(_shipped(), "dana")] == ["max", "sue", "morgan"]
    a = Person("a", "A", "a@example.com", manager="b")
    b = Person("b", "B", "b@example.com", manager="a")
    assert [p.id for p in manager_chain(PeopleDirectory.of([a, b]), "a")] == ["b"]


def test_an_application_directory_is_a_directory() -> None:
    """Any object with the four lookups satisfies the protocol (no YAML file needed)."""

    class Ldap:
        def person(self, person_id: str) -> Person | None:
            return Person(person_id, person_id.title(), f"{person_id}@corp.example", ("qa",))

        def holders(self, role: str) -> list[Person]:
            return []

        def manager(self, person_id: str) -> Person | None:
            return None

        def queue_address(self, queue: str) -> str | None:
            return None

    assert isinstance(Ldap(), Directory)
    assert isinstance(_shipped(), Directory)
    assert not isinstance(object(), Directory)


def test_people_file_is_not_a_process_definition() -> None:
    """The folder's people.yaml is not loaded as a process, and is found as its directory."""
    assert PROCESSES / "people.yaml" not in definition_files(PROCESSES)
    assert people_path(PROCESSES) == PROCESSES / "people.yaml"


def test_no_people_file_means_open_mode(tmp_path: Path) -> None:
    """Without a people.yaml in the folder and without --people, there is no directory."""
    assert people_path(tmp_path) is None


def test_validate_checks_the_folders_people_file(tmp_path: Path) -> None:
    """`fulfil validate DIR` reports people.yaml:LINE:COL problems next to the processes'."""
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder, ignore=shutil.ignore_patterns("*.scenarios.yaml"))
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"OK  {folder / 'people.yaml'}  (people: 27 people, 26 active" in result.output
    text = (folder / "people.yaml").read_text(encoding="utf-8")
    (folder / "people.yaml").write_text(text.replace("manager: lee\n", "manager: leo\n", 1))
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if t.strip() == "manager: lee")
    assert (
        f"{folder / 'people.yaml'}:{line}:14: manager 'leo' of 'sam' is not a person of the "
        "directory (did you mean 'lee'?)"
    ) in result.output


def test_validate_a_people_file_alone(tmp_path: Path) -> None:
    """`fulfil validate people.yaml` checks it against the processes of its folder."""
    result = CliRunner().invoke(main, ["validate", str(PROCESSES / "people.yaml")])
    assert result.exit_code == 0, result.output
    assert "(people: 27 people" in result.output
