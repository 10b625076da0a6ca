"""Checked definitions kept between commands, found again by their content.

Every command opens the processes folder. Reading and checking a dozen definitions (YAML with
locations, JSON Schema, the graph checks) and importing the checkers costs several times the
work of most commands, so a folder that loaded without error is kept: its `Catalog` and people
directory are pickled into the cache folder under a key made of

- the cache's format and Python's version,
- fulfil's own code and schemas (the size and modification time of each file), so a changed
  engine never reads what an older one wrote,
- the name and SHA-256 digest of every definition file and of the people file.

A changed, added or removed file changes the key: the folder is then loaded and checked again,
and reports the same errors as ever. Only what loaded without error is kept, warnings included.

The cache folder is `$FULFIL_CACHE_DIR`, else `$XDG_CACHE_HOME/fulfil`, else `~/.cache/fulfil`;
`FULFIL_CACHE=off` turns the cache off; the 32 most recent entries are kept. A pickle runs code
when read, so an entry is read only when it and its folder belong to the current user and
neither is writable by anyone else; entries are written to a temporary file and renamed, so a
reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["cache_folder", "load_definitions"]

FORMAT = 1
KEEP = 32  # entries kept in the cache folder
_PACKAGE = Path(__file__).resolve().parents[1]  # engine/
_SCHEMAS = _PACKAGE.parent / "schemas"
_code_stamp: str | None = None


def cache_folder() -> Path | None:
    """Where entries are kept, or None when the cache is off."""
    if os.environ.get("FULFIL_CACHE", "").lower() in {"off", "0", "no", "false"}:
        return None
    explicit = os.environ.get("FULFIL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder to be found: no cache, the command runs as ever
            return None
    return Path(base) / "fulfil"


def _stamp_of_code() -> str:
    """A digest of the size and modification time of every module and schema of fulfil."""
    global _code_stamp
    if _code_stamp is None:
        digest = hashlib.sha256(f"{FORMAT}|{sys.version}".encode())
        for path, info in sorted(_files(str(_PACKAGE), ".py") + _files(str(_SCHEMAS), ".json")):
            digest.update(f"{path}|{info.st_size}|{info.st_mtime_ns}\n".encode())
        _code_stamp = digest.hexdigest()
    return _code_stamp


def _files(folder: str, suffix: str) -> list[tuple[str, os.stat_result]]:
    """The files of a folder and its subfolders ending in `suffix`, with their status."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                found += _files(entry.path, suffix)
            elif entry.name.endswith(suffix):
                found.append((entry.path, entry.stat()))
    return found


def _key(files: list[Path], people: Path | None) -> str:
    digest = hashlib.sha256(_stamp_of_code().encode())
    for path in [*files, *([people] if people is not None else [])]:
        digest.update(f"{path.resolve()}|".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _private(path: Path) -> bool:
    """The path belongs to this user and nobody else may write to it."""
    info = path.lstat()
    owner = getattr(os, "getuid", lambda: info.st_uid)()
    return info.st_uid == owner and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path) -> Any:
    try:
        if not (_private(entry.parent) and _private(entry)):
            return None
        with entry.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # a missing, truncated or foreign entry is rebuilt, never an error
        return None


def _write(entry: Path, value: Any) -> None:
    """Keep `value` at `entry`; a read-only or full disk costs speed, never the command."""
    try:
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(entry.parent):
            return
    except OSError:
        return
    temporary = entry.with_name(f".tmp-{os.getpid()}-{time.monotonic_ns()}")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, entry)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        with contextlib.suppress(OSError):
            temporary.unlink()
        return
    _prune(entry.parent)


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently written entries: each edit of a folder makes a new one."""
    with contextlib.suppress(OSError):
        entries = sorted(folder.glob("definitions-*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        for old in entries[:-KEEP]:
            old.unlink()


def load_definitions(folder: str | Path, people: Path | None) -> tuple[Any, Any]:
    """The folder's catalog and the people directory (None without a people file), from the
    cache when the same files loaded before, else loaded and checked, then kept.

    Raises:
        UsageError: the folder does not exist.
        DefinitionError: a definition or the people directory has errors (never cached).
    """
    from ..definition.loader import Catalog, definition_files, load_directory

    where = cache_folder()
    entry = None
    if where is not None and Path(folder).is_dir():
        files = definition_files(folder)
        try:
            entry = where / f"definitions-{_key(files, people)}.pickle"
        except OSError:
            entry = None
        found = _read(entry) if entry is not None else None
        if isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], Catalog):
            return found
    catalog = load_directory(folder)
    directory = None
    if people is not None:
        from ..people import load_people

        directory = load_people(people, catalog)
    if entry is not None:
        _write(entry, (catalog, directory))
    return catalog, directory
