"""The instance page: its state, forms, history, and the operator's panel.

The workbench's pages show it, and so do the operations pages after a refused intervention
(with the engine's message beside the form it came from).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ..model import FieldType, Process
from ..people.directory import OPERATOR, Person
from ..runtime import Engine
from ..runtime.assigning import manager_roles
from ..runtime.compiled import CompiledProcess
from ..runtime.views import InstanceView
from .auth import Caller
from .context import Workbench, render_page, workbench
from .forms import TriggerForm, trigger_forms
from .titles import Titles

__all__ = [
    "FieldControl",
    "InterventionPanel",
    "compiled_of",
    "intervention_panel",
    "may_intervene",
    "render_instance",
    "shown_value",
]


def may_intervene(person: Person, process: Process) -> bool:
    """Whether the person may change running work of this process (the engine decides again)."""
    return any(person.holds(role) for role in (OPERATOR, *manager_roles(process)))


def shown_value(value: Any) -> str:
    """A stored (JSON) value as a form shows it: lists one item a line, booleans true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    return str(value)


# --- the instance page's panel ----------------------------------------------------------------
@dataclass(frozen=True)
class FieldControl:
    name: str
    kind: str  # select, textarea, number, text, date, ...
    value: str
    options: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class InterventionPanel:
    """What the instance page offers an operator: cancel, correct, move, and its messages."""

    states: tuple[str, ...]
    controls: tuple[FieldControl, ...]
    open_tasks: tuple[str, ...]
    messages: tuple[Any, ...]  # the instance's failed and pending outbox messages
    forms: tuple[str, ...]  # the forms shown (`ops:cancel`, `ops:retry:7`...): where a refusal goes


_CONTROL = {
    FieldType.ENUM: "select",
    FieldType.BOOL: "select",
    FieldType.TEXT: "textarea",
    FieldType.LIST: "textarea",
    FieldType.INT: "number",
    FieldType.DATE: "date",
    FieldType.EMAIL: "email",
}


def intervention_panel(
    engine: Engine, person: Person, process: Process, view: Any, outbox: Iterable[Any]
) -> InterventionPanel | None:
    """The panel for a person who may change this process's running work, else None."""
    if not may_intervene(person, process):
        return None
    stored = view.to_json()["data"]
    controls = []
    for spec in process.fields:
        kind = _CONTROL.get(spec.type, "text")
        options = ("true", "false") if spec.type is FieldType.BOOL else tuple(spec.values)
        controls.append(
            FieldControl(
                spec.name, kind, shown_value(stored.get(spec.name)), options, spec.required
            )
        )
    open_tasks = tuple(c.id for c in view.children if not c.terminal)
    messages = tuple(m for m in outbox if m.status in ("failed", "pending"))
    forms = ["ops:set"] + ([] if view.terminal else ["ops:cancel", "ops:move"])
    for m in messages:
        forms += [f"ops:drop:{m.id}"] + ([f"ops:retry:{m.id}"] if m.status == "failed" else [])
    return InterventionPanel(
        tuple(s.name for s in process.states if s.name != view.state),
        tuple(controls),
        open_tasks,
        messages,
        tuple(forms),
    )


def compiled_of(bench: Workbench, view: InstanceView) -> CompiledProcess:
    """The definition the shown instance is pinned to."""
    with bench.engine.store.transaction(write=False) as tx:
        return bench.engine.definitions.for_instance(tx, view.process, view.version)


def render_instance(
    request: Request,
    caller: Caller,
    instance_id: str,
    *,
    error: str | None = None,
    error_for: str | None = None,
    posted: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page of an instance for `caller`; `error` shown beside the form `error_for` (with
    what was `posted` in it) after a refused change, answered with `status`."""
    bench = workbench(request)
    engine = bench.engine
    view = engine.show(instance_id)
    cp = compiled_of(bench, view)
    person = caller.person
    forms: list[TriggerForm] = trigger_forms(cp, view.state, view.triggers, person)
    owner = view.owner
    may_work = owner is None or person.holds(owner)
    leads = {r.manager for r in cp.process.roles if r.manager}
    lead = any(person.holds(role) for role in leads)
    workers = [
        p
        for p in getattr(bench.people, "people", {}).values()
        if p.active and (owner is None or p.holds(owner))
    ]
    outbox = [m for m in engine.outbox() if m.instance == instance_id]
    ops = intervention_panel(engine, person, cp.process, view, outbox)
    now = engine.clock.now()
    due = [t.due_at for t in view.timers] + ([view.due_at] if view.due_at else [])
    next_due = min(due) if due else None
    return render_page(
        request,
        "instance.html",
        {
            "caller": caller,
            "view": view,
            "process": cp.process,
            "title": Titles([cp.process]).title(view, now),
            "forms": forms,
            "history": engine.history(instance_id),
            "outbox": outbox,
            "ops": ops,
            "diagram": bench.diagram(cp.process),
            "can_claim": not view.terminal and view.assignee is None and may_work,
            "can_release": not view.terminal
            and view.assignee is not None
            and (view.assignee == person.id or lead),
            "can_assign": not view.terminal and lead,
            "workers": workers,
            "next_due": next_due,
            "overdue": next_due is not None and next_due <= now,
            "error": error,
            "error_for": error_for,
            "posted": posted or {},
            "fields": cp.process.fields,
        },
        status,
    )
