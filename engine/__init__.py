"""The fulfil library.

The path of a definition: YAML text -> `definition` (safe parse with line marks, JSON Schema
check, the typed `model`, graph and expression checks) -> `runtime` (a compiled process run on
`transitions`) -> a `store` backend. docs/architecture.md draws the layers.
"""

__version__ = "0.1.0"
