"""The fulfil library.

The path of a definition: YAML text -> `loader` (safe parse with line marks, JSON Schema check,
typed `model`) -> `validate` (graph and expression checks) -> `runtime` (a compiled process run
on `transitions`) -> a `store` backend.
"""

__version__ = "0.1.0"
