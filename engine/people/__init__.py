"""People: the directory of who may act, and the identity every start and fire carries.

`Directory` is the protocol the engine asks (an application plugs in its own user store);
`PeopleDirectory` is the one `people.yaml` gives (`load_people`); `engine.people.identity`
decides who acts in which role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import names_from
from .directory import Directory, PeopleDirectory, Person, manager_chain

if TYPE_CHECKING:
    from .checks import load_people, people_problems
    from .yamlfile import PEOPLE_FILE, PeopleFile, people_path, read_people, read_people_file

__all__ = [
    "PEOPLE_FILE",
    "Directory",
    "PeopleDirectory",
    "PeopleFile",
    "Person",
    "load_people",
    "manager_chain",
    "people_path",
    "people_problems",
    "read_people",
    "read_people_file",
]

# Reading and checking people.yaml is imported on first use: the engine asks the directory,
# and a command whose people come from the definitions cache never reads the file.
_HOME = {
    "PEOPLE_FILE": "yamlfile",
    "PeopleFile": "yamlfile",
    "load_people": "checks",
    "people_path": "yamlfile",
    "people_problems": "checks",
    "read_people": "yamlfile",
    "read_people_file": "yamlfile",
}


__getattr__ = names_from(__name__, _HOME)
