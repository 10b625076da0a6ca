"""Graphviz DOT text of a process, written from the diagram model.

`transitions.extensions.diagrams.GraphMachine` renders DOT only through the `graphviz` or
`pygraphviz` Python packages (neither is a dependency of fulfil), and it cannot draw timers as
dashed edges or show statuses and roles; so this module writes DOT text itself, with no
dependency at all. States are boxes labelled `name\\nStatus / Closure`, terminal states double
circles, timer edges dashed, and child tasks a cluster with their depends_on edges.
"""

from __future__ import annotations

from ..model import Process
from .model import TIMER_MARK, Diagram, Edge, Node, TaskNode, extract

INDENT = "    "
START = "__start__"


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines flattened."""
    flat = " ".join(text.split())
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def label(*lines: str) -> str:
    """A quoted DOT label of several lines (joined by DOT's `\\n` escape)."""
    inner = "\\n".join(quote(line)[1:-1] for line in lines if line)
    return f'"{inner}"'


def attrs(**values: str) -> str:
    """` [key=value, ...]` with the values already quoted, or nothing."""
    body = ", ".join(f"{key}={value}" for key, value in values.items())
    return f" [{body}]" if body else ""


def node_line(node: Node) -> str:
    extra: dict[str, str] = {"label": label(node.name, node.caption)}
    if node.terminal:
        extra["shape"] = "doublecircle"
    elif node.waiting:
        extra.update(style='"rounded,filled"', fillcolor='"#fff8dc"')
    return quote(node.name) + attrs(**extra) + ";"


def edge_line(edge: Edge) -> str:
    head = f"{TIMER_MARK} {edge.timer}" if edge.is_timer else ""
    first = f"{edge.trigger} [{edge.guard}]" if edge.guard else edge.trigger
    roles = f"({', '.join(edge.roles)})" if edge.roles else ""
    stays = "(internal: stays)" if edge.internal else ""
    extra = {"label": label(head, first, roles, stays)}
    if edge.is_timer:
        extra["style"] = "dashed"
    if edge.internal:
        extra["fontname"] = '"Helvetica-Oblique"'  # an italic label: no leaving, no re-entering
    return f"{quote(edge.source)} -> {quote(edge.dest)}{attrs(**extra)};"


def task_lines(tasks: tuple[TaskNode, ...]) -> list[str]:
    """The tasks cluster: one node per task, a dotted edge from each dependency to its task."""
    if not tasks:
        return []
    lines = ['subgraph "cluster_tasks" {', f'{INDENT}label="Tasks";']
    for task in tasks:
        mark = " (indicator)" if task.indicator else ""
        text = label(task.name + mark, task.title, f"process {task.process}")
        lines.append(f"{INDENT}{quote('task:' + task.name)}{attrs(label=text, shape='component')};")
    for task in tasks:
        for dep in task.depends_on:
            line = f"{quote('task:' + dep)} -> {quote('task:' + task.name)}"
            lines.append(f"{INDENT}{line}{attrs(style='dotted', label=quote('then'))};")
    return [*lines, "}"]


def render_diagram(diagram: Diagram) -> str:
    """The DOT text of a diagram model."""
    title = f"{diagram.title or diagram.id} ({diagram.id} v{diagram.version})"
    body = [
        f"graph [label={quote(title)}, labelloc=t, rankdir=LR, fontname=Helvetica];",
        "node [shape=box, style=rounded, fontname=Helvetica];",
        "edge [fontname=Helvetica, fontsize=10];",
    ]
    body += [node_line(node) for node in diagram.nodes]
    if diagram.initial is not None:
        body.append(f'"{START}" [shape=point, label=""];')
        body.append(f'"{START}" -> {quote(diagram.initial)};')
    body += [edge_line(edge) for edge in diagram.edges]
    body += task_lines(diagram.tasks)
    lines = [f"digraph {quote(diagram.id)} {{", *(INDENT + line for line in body), "}"]
    return "\n".join(lines) + "\n"


def render_dot(process: Process) -> str:
    """The Graphviz DOT text of a process."""
    return render_diagram(extract(process))
