"""People: the directory of who may act, and the identity every start and fire carries.

`Directory` is the protocol the engine asks (an application plugs in its own user store);
`PeopleDirectory` is the one `people.yaml` gives (`load_people`); `engine.people.identity`
decides who acts in which role.
"""

from .checks import load_people, people_problems
from .directory import Directory, PeopleDirectory, Person, manager_chain
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
