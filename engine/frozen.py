"""Dataclasses that are built the first time they are used.

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
on a copy of the class as written and puts what it made in place of the stand-ins (what refers
to the copy made to refer to the class), then carries on with the real method. From then on
the class is what `@dataclass` makes; nothing stays in between. `@record` does the same for a
mutable `@dataclass` (its stand-ins: `__init__`, `__repr__`, `__eq__`; `__hash__` is None at
once, as the decorator makes it). Each stand-in is replaced, never
removed first, so another thread using an instance meanwhile meets either one or the other.

An instance can exist before its class is built only by unpickling or copying, which set its
`__dict__` directly, as for any dataclass, or by `ahead`, which does the same for a constant a
module defines.

With `slots=True` the decorator makes a new class with `__slots__`; `@frozen(slots=True)` makes
that class at once (the slots cost nothing to make: no method is compiled) and keeps the class
as written for the copy. Such a class has no base class and no `ClassVar` or `InitVar` field.

A frozen class's `__init__` is not the decorator's but one that sets every field at once
(`_fast_init`), with the same parameters and defaults: records and views are made on every
step, and the decorator's sets each field through `object.__setattr__`.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["ahead", "frozen", "is_built", "record"]

T = TypeVar("T", bound=type)
T2 = TypeVar("T2")

_METHODS = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_ORDER = ("__lt__", "__le__", "__gt__", "__ge__")
_REPLACE = ("__replace__",) if sys.version_info >= (3, 13) else ()  # `copy.replace`
_ATTRIBUTES = ("__dataclass_fields__", "__dataclass_params__", "__match_args__")
_STATE = ("__getstate__", "__setstate__")  # a frozen class with slots pickles through them
_OWN = ("__dict__", "__weakref__")  # made anew with each class

# the classes not built yet: the stand-ins put on each, the decorator's options, and for a
# class with slots the class as written
_PENDING: dict[type, tuple[tuple[str, ...], dict[str, Any], type | None]] = {}
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
        names, options, written = pending
        slots = written is not None
        if written is None:  # the class as written: its own dictionary, less the stand-ins
            body = {k: v for k, v in cls.__dict__.items() if k not in (*names, *_OWN)}
            written = type(cls)(cls.__name__, cls.__bases__, body)
            written.__qualname__ = cls.__qualname__
        made: type = dataclasses.dataclass(written, slots=slots, **options)
        if options["frozen"] and "__init__" in names:
            fast = _fast_init(made, cls if slots else None)
            if fast is not None:
                made.__init__ = fast  # type: ignore[misc]
        for name in names:
            if name in made.__dict__:
                setattr(cls, name, _moved(made.__dict__[name], made, cls))
            else:
                delattr(cls, name)  # a method the decorator does not add after all
        if not slots:  # a field's class attribute: its default, or none
            for name in (f.name for f in dataclasses.fields(made)):
                if name in made.__dict__:
                    setattr(cls, name, made.__dict__[name])
                elif name in cls.__dict__:
                    delattr(cls, name)
        if cls.__doc__ is None:
            cls.__doc__ = made.__doc__


def _fast_init(made: type, slotted: type | None) -> Callable[..., None] | None:
    """An `__init__` for a frozen class that sets its fields at once; None for a class it
    cannot stand in for (`__post_init__`, an `InitVar`, a field outside `__init__` or
    keyword-only).

    The decorator's own sets each field through `object.__setattr__`, which costs three to
    four times an ordinary assignment, and records are made on every step. This one takes the
    same parameters with the same defaults (a default factory called as the decorator calls
    it). Without slots it assigns the instance's `__dict__` once. With slots (`slotted`, the
    class instances have) the instance is of a class with the same slots and no `__setattr__`
    while its fields are assigned, then of its own class again; an instance of a subclass
    goes through the decorator's `__init__`.
    """
    init = made.__dict__["__init__"]
    fields = dataclasses.fields(made)
    names = [f.name for f in fields]
    code = init.__code__  # its parameters read off the code: `inspect.signature` costs more
    positional = code.co_varnames[1 : code.co_argcount]
    if (
        hasattr(made, "__post_init__")
        or list(positional) != names
        or code.co_kwonlyargcount
        or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
        or (slotted is None and not made.__dictoffset__)
    ):
        return None
    defaults = init.__defaults__ or ()
    first_default = len(names) - len(defaults)
    scope: dict[str, Any] = {
        "_set": object.__setattr__,
        "_type": type,
        "_init": init,
        "_cls": slotted,
    }
    if slotted is not None:  # the same slots, without the frozen `__setattr__`
        slots = {"__slots__": slotted.__dict__["__slots__"]}
        scope["_fields"] = type(f"_{slotted.__name__}Fields", (), slots)
    values = []
    for index, f in enumerate(fields):
        value = f.name
        if f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{index}"] = f.default_factory
            scope[f"_unset_{index}"] = defaults[index - first_default]
            value = f"(_factory_{index}() if {f.name} is _unset_{index} else {f.name})"
        values.append((f.name, value))
    if {*scope, "self"} & set(names):
        return None  # a field named like a name of the text below
    head = f"def __init__(self, {', '.join(names)}):\n"
    if slotted is None:
        pairs = ", ".join(f"{name!r}: {value}" for name, value in values)
        body = f"    _set(self, '__dict__', {{{pairs}}})\n"
    else:
        body = (
            f"    if _type(self) is not _cls:\n"
            f"        return _init(self, {', '.join(names)})\n"
            f"    _set(self, '__class__', _fields)\n"
            + "".join(f"    self.{name} = {value}\n" for name, value in values)
            + "    self.__class__ = _cls\n"
        )
    exec(head + body, scope)  # the text above, made of the class's own field names
    made_init: Callable[..., None] = scope["__init__"]
    made_init.__defaults__ = init.__defaults__
    made_init.__qualname__ = init.__qualname__
    made_init.__annotations__ = init.__annotations__
    return made_init


def _moved(value: Any, made: type, cls: type) -> Any:
    """A method of `made` that refers to its class (`type(self) is cls`, `super(cls, self)`)
    made to refer to `cls` instead."""
    for cell in getattr(value, "__closure__", None) or ():
        if cell.cell_contents is made:
            cell.cell_contents = cls
    return value


def _with_slots(cls: type) -> type:
    """The class with a slot per field, as the dataclass decorator makes it (no method yet)."""
    annotations = inspect.get_annotations(cls)
    fields = tuple(annotations)
    pseudo = any(str(t).startswith(("ClassVar", "InitVar")) for t in annotations.values())
    if cls.__bases__ != (object,) or pseudo:
        raise TypeError(f"@frozen(slots=True): {cls.__name__} has a base class or a pseudo-field")
    body = {k: v for k, v in cls.__dict__.items() if k not in (*fields, *_OWN)}
    body["__slots__"] = fields
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


def is_built(cls: type) -> bool:
    """Whether the class has its dataclass methods yet (for tests and measurements)."""
    return cls not in _PENDING


def _lazy(cls: T, *, frozen: bool, order: bool, slots: bool) -> T:
    """Put the stand-ins on `cls` and note what `_build` is to make of it."""
    written = None
    if slots:
        written, cls = cls, _with_slots(cls)  # type: ignore[assignment]
    own = cls.__dict__
    if frozen:
        extra = (*(_ORDER if order else ()), *_REPLACE, *(_STATE if slots else ()))
        methods = [m for m in (*_METHODS, *extra) if m not in own]
        # the decorator keeps a method the class writes itself, save the `__hash__ = None`
        # Python gives a class writing its own `__eq__`
        if "__eq__" in own and own.get("__hash__", 0) is None:
            methods.append("__hash__")
    else:
        # a mutable record that compares by value has no hash, as the decorator makes it
        base = ("__init__", "__repr__", "__eq__", *(_ORDER if order else ()), *_REPLACE)
        methods = [m for m in base if m not in own]
        if "__hash__" not in own:
            cls.__hash__ = None  # type: ignore[assignment]
    names = [*methods, *(a for a in _ATTRIBUTES if a not in own)]
    for name in methods:
        setattr(cls, name, _method(cls, name))
    for name in names[len(methods) :]:
        setattr(cls, name, _Attribute(cls, name))
    with _LOCK:
        _PENDING[cls] = (tuple(names), {"order": order, "frozen": frozen}, written)
    return cls


@overload
def frozen(cls: T, /) -> T: ...


@overload
def frozen(*, order: bool = False, slots: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(
    cls: T | None = None, /, *, order: bool = False, slots: bool = False
) -> T | Callable[[T], T]:
    """`@dataclass(frozen=True)` built on first use; `order` and `slots` as for `@dataclass`."""

    def wrap(cls: T) -> T:
        return _lazy(cls, frozen=True, order=order, slots=slots)

    return wrap if cls is None else wrap(cls)


@overload
def record(cls: T, /) -> T: ...


@overload
def record(*, order: bool = False) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T | None = None, /, *, order: bool = False) -> T | Callable[[T], T]:
    """`@dataclass` (mutable) built on first use; `order` as for `@dataclass`."""

    def wrap(cls: T) -> T:
        return _lazy(cls, frozen=False, order=order, slots=False)

    return wrap if cls is None else wrap(cls)


def ahead(cls: type[T2], **fields: Any) -> T2:
    """An instance of a `@frozen` class made without building the class, as unpickling makes
    one: for a constant a module defines (`UNKNOWN = ahead(Location, file=..., ...)`), so that
    importing the module compiles no method. Every field is given by name; the class is built
    when the instance is first used, as for any instance made before its class was built."""
    names = [n for n in inspect.get_annotations(cls) if not n.startswith("__")]
    if sorted(fields) != sorted(names):
        raise TypeError(f"ahead({cls.__name__}): give every field by name: {', '.join(names)}")
    if is_built(cls):
        return cls(**fields)
    made = object.__new__(cls)
    if hasattr(made, "__dict__"):
        made.__dict__.update(fields)
    else:
        for name, value in fields.items():
            object.__setattr__(made, name, value)
    return made
