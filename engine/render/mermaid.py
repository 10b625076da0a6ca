"""Mermaid `stateDiagram-v2` text of a process.

`transitions`' own GraphMachine can emit Mermaid without Graphviz, but it shows neither display
statuses, roles, terminal ends nor timers, and it needs a live machine with a model; so we write
the text ourselves from the diagram model. Mermaid has no dashed transitions: timer edges are
labelled with a stopwatch and their source states get the `timed` class. A request's tasks are
drawn in a composite state `Tasks`, with a `then` edge from each dependency to its task.
"""

from __future__ import annotations

import json

from ..model import Process
from .diagram import Diagram, Edge, Node, TaskNode, extract
from .text import starts_text, transition_text

# Words the Mermaid state diagram grammar reads as keywords: such states get an alias.
RESERVED = frozenset({"end", "state", "note", "class", "classdef", "direction", "as", "style"})
_ENTITIES = {"#": "#35;", ";": "#59;", ":": "#58;", "<": "#lt;", ">": "#gt;", '"': "#quot;"}
INDENT = "    "


def escape(text: str) -> str:
    """Make text safe after a `:` in Mermaid: entity codes for its special characters."""
    flat = " ".join(text.split())
    return "".join(_ENTITIES.get(char, char) for char in flat)


def node_id(name: str) -> str:
    """The Mermaid id of a state (its name, unless the name is a Mermaid keyword)."""
    return f"{name}_" if name.lower() in RESERVED else name


def edge_label(edge: Edge) -> str:
    """`trigger [guard] (roles)`, or `timer 7d name → trigger [guard]` for timer edges.

    The word "timer", not a stopwatch sign: the fonts of many machines lack it.
    """
    label = transition_text(edge)
    if edge.internal:
        label += " (internal)"  # stays in the state: its timers keep running
    return escape(label + starts_text(edge))


def _state_lines(node: Node) -> list[str]:
    ident = node_id(node.name)
    lines = [f'state "{escape(node.name)}" as {ident}'] if ident != node.name else []
    if node.caption:
        lines.append(f"{ident} : {escape(node.caption)}")
    lines += [f"{ident} : {escape('entry / ' + line)}" for line in node.entry]
    lines += [f"{ident} : {escape('exit / ' + line)}" for line in node.exit]
    return lines


def _level(diagram: Diagram, group: str | None) -> list[str]:
    """The states drawn inside `group` (None: the top), compound states as composite states
    holding their own, each level with its initial state."""
    groups, nodes = diagram.members(group)
    lines: list[str] = []
    for node in nodes:
        lines += _state_lines(node)
    for inner in groups:
        ident = node_id(inner.name)
        lines.append(f"state {ident} {{")
        lines += [INDENT + line for line in _level(diagram, inner.name)]
        lines.append("}")
        notes = [f"status: {inner.status}"] if inner.status else []
        notes += [f"entry / {line}" for line in inner.entry]
        notes += [f"exit / {line}" for line in inner.exit]
        if notes:
            lines.append(f"note right of {ident} : {escape('; '.join(notes))}")
    if group is not None:
        first = next((g for g in diagram.groups if g.name == group), None)
        if first is not None and first.initial is not None:
            lines.append(f"[*] --> {node_id(first.initial)}")
    return lines


def _top_initial(diagram: Diagram) -> str | None:
    """The top-level state an instance starts in (a compound state holding the initial one)."""
    name = diagram.initial
    parents = {n.name: n.parent for n in diagram.nodes} | {g.name: g.parent for g in diagram.groups}
    while name is not None and parents.get(name) is not None:
        name = parents[name]
    return name


def _classes(diagram: Diagram) -> list[str]:
    lines = []
    for css, members in (
        ("timed", [n for n in diagram.nodes if n.timed]),
        ("waiting", [n for n in diagram.nodes if n.waiting]),
        ("terminal", [n for n in diagram.nodes if n.terminal]),
    ):
        if members:
            lines.append(f"class {','.join(node_id(n.name) for n in members)} {css}")
    return lines


def task_id(name: str) -> str:
    """The Mermaid id of a task (capitalised: state names are lower case, so they never clash)."""
    return f"Task_{name}"


def task_lines(tasks: tuple[TaskNode, ...]) -> list[str]:
    """The `Tasks` composite state: a node per task, a `then` edge from each dependency."""
    if not tasks:
        return []
    lines = ['state "Tasks" as Tasks {']
    for task in tasks:
        mark = " (indicator)" if task.indicator else ""
        text = f"{task.name}{mark}: {task.title or task.process} (process {task.process})"
        lines.append(f'{INDENT}state "{escape(text)}" as {task_id(task.name)}')
    for task in tasks:
        for dep in task.depends_on:
            lines.append(f"{INDENT}{task_id(dep)} --> {task_id(task.name)} : then")
    return [*lines, "}"]


def render_diagram(diagram: Diagram) -> str:
    """The Mermaid text of a diagram model."""
    title = f"{diagram.title or diagram.id} ({diagram.id} v{diagram.version})"
    body = [
        '%% Mermaid has no dashed transitions: timer transitions are labelled with "timer" and the',
        "%% states that have timers get the `timed` class.",
        "classDef timed font-style:italic,stroke-dasharray:4 4",
        "classDef waiting fill:#fff8dc",
        "classDef terminal stroke-width:3px",
    ]
    body += _level(diagram, None)
    initial = _top_initial(diagram)
    if initial is not None:
        body.append(f"[*] --> {node_id(initial)}")
    for edge in diagram.edges:
        source, dest = edge.tail_group or edge.source, edge.head_group or edge.dest
        body.append(f"{node_id(source)} --> {node_id(dest)} : {edge_label(edge)}")
    body += [f"{node_id(n.name)} --> [*]" for n in diagram.nodes if n.terminal]
    body += task_lines(diagram.tasks)
    body += _classes(diagram)
    head = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", "---", "stateDiagram-v2"]
    return "\n".join(head + [INDENT + line for line in body]) + "\n"


def render_mermaid(process: Process) -> str:
    """The Mermaid `stateDiagram-v2` text of a process."""
    return render_diagram(extract(process))
