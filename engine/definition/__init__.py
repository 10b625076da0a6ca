"""A process definition, from text to a checked model.

yamlsource    safe parse with every node's line and column (`yamlerrors`: syntax errors told
              in plain words)
validate/     the JSON Schema check, names, the graph checks, the expression checks
builder       plain data to the typed model (`engine.model`)
loader        the path wired: `load_text`, `load_file`, `load_directory` -> `Catalog`
firing        which triggers the engine fires itself
"""

from __future__ import annotations

from .loader import Catalog, load_directory, load_file, load_text

__all__ = ["Catalog", "load_directory", "load_file", "load_text"]
