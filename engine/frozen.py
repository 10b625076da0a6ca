"""Frozen dataclasses that are built the first time they are used.

`@dataclass(frozen=True)` writes the text of six or more methods per class (`__init__`,
`__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`, the order methods) and compiles
each, every time the module is imported: Python keeps no bytecode for them. For the fifty
classes of the model and the views that was the largest part of a CLI command's start-up, yet
a command uses few of them: the definitions it reads come unpickled from the cache, which calls
no method of theirs.

`@frozen` makes the same class as `@dataclass(frozen=True)` (and `order=True` as
`@dataclass(frozen=True, order=True)`), only later: it puts a stand-in for each method the
decorator would add, and for `__dataclass_fields__`, `__dataclass_params__` and
`__match_args__`. The first stand-in used (creating an instance, comparing, hashing, printing,
assigning, `dataclasses.replace`, `fields`, `is_dataclass`, a `match`) runs the real decorator
on the class in place, after removing the stand-ins, then carries on with the real method. From
then on the class is exactly what `@dataclass` makes; nothing stays in between.

An instance can exist before its class is built only by unpickling or copying, which set its
`__dict__` directly, as for any dataclass. Classes with `slots=True` are not supported: the
dataclass decorator replaces such a class by a new one, which cannot be done after the fact.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["frozen", "is_built"]

T = TypeVar("T", bound=type)

_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")
_REPLACE = ("__replace__",) if sys.version_info >= (3, 13) else ()  # `copy.replace`
_ATTRIBUTES = ("__dataclass_fields__", "__dataclass_params__", "__match_args__")

# the classes not built yet, with the stand-ins put on each and the decorator's options
_PENDING: dict[type, tuple[tuple[str, ...], dict[str, Any]]] = {}
# one build at a time: a second thread using the class waits for the whole of the first's
_LOCK = threading.RLock()


class _Attribute:
    """Stands for a class attribute the decorator adds: reading it builds the class."""

    def __init__(self, cls: type, name: str) -> None:
        self.cls = cls
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        _build(self.cls)
        return getattr(self.cls, self.name)


def _method(cls: type, name: str) -> Callable[..., Any]:
    """The stand-in for a method the decorator adds: it builds the class, then calls it."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        _build(cls)
        return getattr(cls, name)(self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"{cls.__qualname__}.{name}"
    return method


def _build(cls: type) -> None:
    with _LOCK:
        pending = _PENDING.pop(cls, None)
        if pending is None:
            return
        names, options = pending
        for name in names:
            delattr(cls, name)
        dataclasses.dataclass(cls, frozen=True, **options)


def is_built(cls: type) -> bool:
    """Whether the class has its dataclass methods yet (for tests and measurements)."""
    return cls not in _PENDING


@overload
def frozen(cls: T, /) -> T: ...


@overload
def frozen(*, order: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: T | None = None, /, *, order: bool = False) -> T | Callable[[T], T]:
    """`@dataclass(frozen=True)` (`order=True`: with the order methods), built on first use."""

    def wrap(cls: T) -> T:
        own = cls.__dict__
        # the decorator keeps a method the class writes itself, save the `__hash__ = None`
        # Python gives a class writing its own `__eq__`
        methods = [m for m in (*_METHODS, *(_ORDER if order else ()), *_REPLACE) if m not in own]
        if "__eq__" in own and own.get("__hash__", 0) is None:
            methods.append("__hash__")
        names = [*methods, *(a for a in _ATTRIBUTES if a not in own)]
        for name in methods:
            setattr(cls, name, _method(cls, name))
        for name in names[len(methods) :]:
            setattr(cls, name, _Attribute(cls, name))
        with _LOCK:
            _PENDING[cls] = (tuple(names), {"order": order})
        return cls

    return wrap if cls is None else wrap(cls)
