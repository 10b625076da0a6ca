"""fulfil: a declarative workflow engine for operations teams.

The path of a definition: YAML text -> `engine.loader` (safe parse with line marks, JSON Schema
check, typed `engine.model`) -> `engine.validate` (graph and expression checks) ->
`engine.runtime` (a compiled process run on `transitions`) -> a `engine.store` backend.
"""

__version__ = "0.1.0"
