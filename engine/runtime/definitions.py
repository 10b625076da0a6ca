"""Which compiled definition an instance runs on: pinned versions, stored sources, one cache.

A new instance starts on the catalog's latest version, which is stored (id, version, hash,
source) the first time it is used. Later events run on the instance's own version: the catalog's
copy when it is byte-identical to the stored one, else the stored source, loaded again.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from ..definition.firing import engine_fired
from ..definition.loader import load_text
from ..errors import DefinitionError, FulfilError, Problem, StoreError
from ..model import Process
from ..store.base import DefinitionRecord, Transaction
from .compiled import CompiledProcess

__all__ = ["CatalogLike", "Definitions"]


class CatalogLike(Protocol):
    """What the engine needs from a catalog (`engine.definition.loader.Catalog` is one)."""

    def get(self, process_id: str, version: int | None = None) -> Process: ...


def _source_text(process: Process) -> str:
    """The YAML text of a loaded process, when its file still holds exactly that text."""
    if not process.source_hash:
        return ""
    try:
        text = Path(process.source_file).read_text(encoding="utf-8")
    except OSError:
        return ""
    return text if hashlib.sha256(text.encode()).hexdigest() == process.source_hash else ""


class Definitions:
    """Compiled processes by (id, version), built once each."""

    def __init__(self, catalog: CatalogLike) -> None:
        self.catalog = catalog
        self._cache: dict[tuple[str, int], CompiledProcess] = {}
        self._checked: set[tuple[str, int]] = set()

    @cached_property
    def _family(self) -> tuple[Process, ...]:
        """The catalog's processes, whose rules and emits fire each other's triggers."""
        listing: Any = self.catalog
        return tuple(listing) if hasattr(listing, "__iter__") else ()

    def _build(self, process: Process) -> CompiledProcess:
        return CompiledProcess(process, engine_fired(process, self._family))

    def compile(self, process: Process) -> CompiledProcess:
        """The compiled form of `process`, from the cache when already built."""
        key = (process.id, process.version)
        compiled = self._cache.get(key)
        if compiled is None or compiled.process.source_hash != process.source_hash:
            compiled = self._cache[key] = self._build(process)
        return compiled

    def for_start(self, tx: Transaction, process_id: str) -> CompiledProcess:
        """The latest version for a new instance, stored if it is new.

        Raises:
            NotFound: no such process.
            DefinitionError: this id and version are stored with different content.
        """
        process = self.catalog.get(process_id)
        key = (process.id, process.version)
        if key not in self._checked:
            stored = tx.get_definition(process.id, process.version)
            if stored is None:
                tx.put_definition(
                    DefinitionRecord(
                        process.id, process.version, process.source_hash, _source_text(process)
                    )
                )
            elif stored.source_hash and process.source_hash != stored.source_hash:
                raise DefinitionError(
                    [
                        Problem(
                            process.loc,
                            f"process '{process.id}' version {process.version} was changed "
                            "after instances started on it",
                            hint="bump `version` so running instances keep the old definition",
                        )
                    ]
                )
            self._checked.add(key)
        return self.compile(process)

    def for_instance(self, tx: Transaction, process_id: str, version: int) -> CompiledProcess:
        """The definition an existing instance is pinned to.

        Raises:
            StoreError: neither the catalog nor the store has that version's text.
        """
        key = (process_id, version)
        cached = self._cache.get(key)
        if cached is not None and key in self._checked:
            return cached
        stored = tx.get_definition(process_id, version)
        try:
            process: Process | None = self.catalog.get(process_id, version)
        except FulfilError:
            process = None
        if process is not None and (
            stored is None or not stored.source_hash or stored.source_hash == process.source_hash
        ):
            compiled = self.compile(process)
        elif stored is not None and stored.source:
            loaded = load_text(stored.source, f"<{process_id} version {version}, stored>")
            compiled = self._cache[key] = self._build(loaded.process)
        else:
            raise StoreError(
                f"process '{process_id}' version {version} is neither in the processes folder "
                "nor stored with its source; restore its YAML file to run this instance"
            )
        self._checked.add(key)
        return compiled
