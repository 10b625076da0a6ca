"""A trigger's form, generated from the process's field types, and its posted values read back.

Each trigger a person may fire in the instance's state gets one form: the fields its data may
set (`trigger_accepts`: its `input:` and the `requires` fields no action records), enums as
`<select>`s named after the field, text fields as text areas, ints as numbers, booleans as
check boxes, dates as date inputs. Required fields are marked but not enforced by the browser:
the engine decides, so a refusal ("actions_taken is required") is shown beside the form and
nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DataError
from ..model import Field, FieldType, Process
from ..people.directory import Person
from ..runtime.compiled import CompiledProcess
from ..runtime.data import trigger_accepts

__all__ = ["Input", "TriggerForm", "may_fire", "read_form", "trigger_forms"]

_KINDS = {
    FieldType.ENUM: "select",
    FieldType.TEXT: "textarea",
    FieldType.LIST: "list",
    FieldType.INT: "number",
    FieldType.BOOL: "checkbox",
    FieldType.DATE: "date",
    FieldType.DATETIME: "datetime-local",
    FieldType.EMAIL: "email",
    FieldType.STRING: "text",
}


@dataclass(frozen=True)
class Input:
    """One control of a trigger's form."""

    name: str
    kind: str  # select, textarea, list, number, checkbox, date, datetime-local, email, text
    required: bool
    options: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class TriggerForm:
    """The form of one trigger: its button and the controls of its data."""

    trigger: str
    description: str
    inputs: tuple[Input, ...]


def may_fire(cp: CompiledProcess, state: str, trigger: str, person: Person) -> bool:
    """Whether one of the person's roles may fire `trigger` by hand in `state`."""
    roles = cp.hand_roles(state, trigger)
    if roles is None:
        return True
    return any(person.holds(role) for role in roles)


def _required(process: Process, state: str, trigger: str) -> set[str]:
    return {
        name for t in process.transitions_from(state) if t.trigger == trigger for name in t.requires
    }


def trigger_forms(
    cp: CompiledProcess, state: str, triggers: Sequence[str], person: Person
) -> list[TriggerForm]:
    """The forms of the triggers (allowed now) that the person may fire."""
    process = cp.process
    forms = []
    for trigger in triggers:
        if not may_fire(cp, state, trigger, person):
            continue
        required = _required(process, state, trigger)
        inputs = []
        for name in trigger_accepts(process, state, trigger):
            spec = process.find_field(name)
            if spec is not None:
                inputs.append(_input(spec, name in required))
        described = [
            t.description
            for t in process.transitions_from(state)
            if t.trigger == trigger and t.description
        ]
        forms.append(TriggerForm(trigger, described[0] if described else "", tuple(inputs)))
    return forms


def _input(spec: Field, required: bool) -> Input:
    return Input(spec.name, _KINDS[spec.type], required, spec.values, spec.description)


def read_form(process: Process, form: TriggerForm, posted: Mapping[str, str]) -> dict[str, Any]:
    """The trigger's data from the posted form: empty controls are left out (the engine says
    when a required one is missing); numbers, booleans and lists become their JSON types.

    Raises:
        DataError: a number that is not one.
    """
    data: dict[str, Any] = {}
    for control in form.inputs:
        raw = posted.get(control.name)
        if control.kind == "checkbox":
            data[control.name] = raw is not None and raw not in ("", "off", "false")
            continue
        if raw is None or not raw.strip():
            continue
        if control.kind == "number":
            try:
                data[control.name] = int(raw.strip())
            except ValueError:
                raise DataError(
                    f"field '{control.name}' takes a whole number (got '{raw}')"
                ) from None
        elif control.kind == "list":
            data[control.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            data[control.name] = raw
    return data
