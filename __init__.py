"""fulfil: a declarative workflow engine for operations teams.

Installed, the repository is the package `fulfil`: `fulfil.engine` (the library), `fulfil.cli`
(the `fulfil` command), and the data it reads, `fulfil/schemas/` and `fulfil/processes/`.
Importing `fulfil` loads nothing else, so the command starts quickly.
"""

__version__ = "0.1.0"
