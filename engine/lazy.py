"""Names a package takes from its modules the first time they are read.

A package that exports names from many modules would import them all when it is imported;
`names_from` gives it a module `__getattr__` that imports a name's module when the name is
first read (`from package import Name` included) and keeps the name in the package from then
on. A command that uses one name of the package pays for that name's module only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["names_from"]


def names_from(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """The `__getattr__` of `package`: `homes` maps each name to the module of the package
    that defines it (`{"Engine": "engine"}`). Any other name is an AttributeError, as for a
    plain module."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
