"""The title line of an instance: the process's `instance_title` template over its data.

`instance_title: "{client} ({fr_number})"` names a Facebook access task by its client and FR
number in every worklist row. Without one, the process's title and the instance id stand in.
A hole that fails on some data (a field not set yet) leaves the title at its fallback rather
than breaking the page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import DefinitionError
from ..expressions import CompiledTemplate, EvaluationError, compile_template, field_types
from ..model import Process
from ..runtime.views import InstanceView

__all__ = ["Titles"]


class Titles:
    """Titles of instances, the templates compiled once per process version."""

    def __init__(self, processes: list[Process]) -> None:
        self._compiled: dict[tuple[str, int], CompiledTemplate | None] = {}
        self._processes = {(p.id, p.version): p for p in processes}
        self._latest = {p.id: p for p in processes}

    def _template(self, process_id: str, version: int) -> CompiledTemplate | None:
        key = (process_id, version)
        if key not in self._compiled:
            process = self._processes.get(key) or self._latest.get(process_id)
            template = process.instance_title if process is not None else None
            compiled = None
            if process is not None and template is not None:
                try:
                    compiled = compile_template(template, field_types(process))
                except DefinitionError:
                    compiled = None
            self._compiled[key] = compiled
        return self._compiled[key]

    def title(self, view: InstanceView, now: datetime) -> str:
        """The instance's title line (`now` and `today` read the engine's clock)."""
        template = self._template(view.process, view.version)
        if template is not None:
            variables: dict[str, Any] = dict(view.data)
            variables.update(state=view.state, now=now, today=now.date(), actor="", role="")
            try:
                text = template.render(variables).strip()
            except (EvaluationError, TypeError, ValueError):
                text = ""
            if text:
                return text
        process = self._latest.get(view.process)
        name = process.title if process is not None and process.title else view.process
        return f"{name} {view.id}"
