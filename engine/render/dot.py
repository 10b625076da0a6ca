"""Graphviz DOT text of a process, written from the diagram model.

`transitions.extensions.diagrams.GraphMachine` renders DOT only through the `graphviz` or
`pygraphviz` Python packages (neither is a dependency of fulfil), and it cannot draw timers as
dashed edges or show statuses and roles; so this module writes DOT text itself, with no
dependency at all.

States are rounded boxes with the name in bold over `Status / Closure`; a state's transitions to
itself are listed inside its box (`engine.render.text`), never drawn as loops, whose labels
Graphviz piles onto the box. Terminal states have a double border, waiting states a yellow fill,
timer transitions are dashed and orange, and child tasks are a cluster with their depends_on
edges. Text is 12 points or more (14 for names), so that a page showing the SVG at its natural
size, one point to the pixel, never shows text under 10 pixels even shrunk to 5/6.
"""

from __future__ import annotations

from html import escape

from ..model import Process
from .diagram import Diagram, Edge, Node, TaskNode, extract
from .text import edge_text, is_loop, loop_sections, wrap

INDENT = "    "
START = "__start__"
NAME_SIZE, TEXT_SIZE = 14, 12
PLAIN, TIMED = "#333333", "#b35c00"
# Graphviz places the lines of a state's label from its own estimate of their width, which can
# be a sixth wider than a browser draws them: `engine.render.svg` centres again the lines in
# these two colours (a state's name and its status line) once Graphviz has placed them.
NAME_INK, CAPTION_INK, HEADING_INK = "#1a1a1a", "#555555", "#666666"
NBSP = "&#160;"  # SVG collapses ordinary spaces: indents need non-breaking ones


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


def html_text(text: str) -> str:
    """Text for a Graphviz HTML-like label: markup escaped, leading spaces kept."""
    stripped = text.lstrip(" ")
    return NBSP * (len(text) - len(stripped)) + escape(" ".join(stripped.split()), quote=False)


def row(text: str, *, align: str = "CENTER", font: str = "", italic: bool = False) -> str:
    """One row of an HTML-like label; `font` is the attributes of a FONT around the text."""
    body = f"<I>{html_text(text)}</I>" if italic else html_text(text)
    if font:
        body = f"<FONT {font}>{body}</FONT>"
    return f'<TR><TD ALIGN="{align}">{body}</TD></TR>'


def state_label(node: Node, loops: list[Edge]) -> str:
    """The HTML-like label of a state: bold name, caption, then its transitions to itself."""
    rows = [f'<TR><TD><B><FONT COLOR="{NAME_INK}">{html_text(node.name)}</FONT></B></TD></TR>']
    if node.caption:
        rows.append(row(node.caption, font=f'POINT-SIZE="{TEXT_SIZE}" COLOR="{CAPTION_INK}"'))
    actions = [f"entry / {line}" for line in node.entry] + [f"exit / {line}" for line in node.exit]
    if actions:
        rows.append("<HR/>")
        rows += [row(text, align="LEFT", font=f'POINT-SIZE="{TEXT_SIZE}"') for text in actions]
    for index, (heading, lines) in enumerate(loop_sections(loops)):
        rows.append("<HR/>" if index == 0 else "")
        font = f'POINT-SIZE="{TEXT_SIZE}" COLOR="{HEADING_INK}"'
        rows.append(row(heading, align="LEFT", font=font, italic=True))
        for line, timer in lines:
            ink = f' COLOR="{TIMED}"' if timer else ""
            rows.append(row(line, align="LEFT", font=f'POINT-SIZE="{TEXT_SIZE}"{ink}'))
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def node_line(node: Node, loops: list[Edge]) -> str:
    extra: dict[str, str] = {"label": state_label(node, loops)}
    if node.terminal:
        extra.update(peripheries="2", fillcolor='"#f2f2f2"', color='"#444444"')
    elif node.waiting:
        extra.update(fillcolor='"#fff6d5"', color='"#9a7b12"')
    return quote(node.name) + attrs(**extra) + ";"


def edge_line(edge: Edge) -> str:
    extra = {"label": label(*wrap(edge_text(edge)))}
    if edge.is_timer:
        extra.update(style="dashed", color=f'"{TIMED}"', fontcolor=f'"{TIMED}"')
    if edge.tail_group:  # written on a compound state: drawn from its border
        extra["ltail"] = quote(f"cluster_{edge.tail_group}")
    if edge.head_group and edge.head_group != edge.tail_group:
        extra["lhead"] = quote(f"cluster_{edge.head_group}")
    return f"{quote(edge.source)} -> {quote(edge.dest)}{attrs(**extra)};"


def cluster_lines(diagram: Diagram, group: str | None, loops: dict[str, list[Edge]]) -> list[str]:
    """The states drawn inside `group` (None: the top): compound states as clusters, their
    entry and exit actions in the cluster's label."""
    groups, nodes = diagram.members(group)
    lines = [node_line(node, loops.get(node.name, [])) for node in nodes]
    for inner in groups:
        text = [inner.name, *([inner.status] if inner.status else [])]
        text += [f"entry / {line}" for line in inner.entry]
        text += [f"exit / {line}" for line in inner.exit]
        for edge in diagram.edges:  # its own transitions to itself, as a state's box lists them
            if edge.tail_group == inner.name and is_loop(edge):
                how = "stays" if edge.internal else "re-enters"
                text.append(f"{how}: {edge_text(edge)}")
        lines.append(f"subgraph {quote('cluster_' + inner.name)} {{")
        lines.append(f"{INDENT}label={label(*text)};")
        lines.append(f'{INDENT}style="rounded,dashed"; color="#3b5b8c"; fontname=Helvetica;')
        lines += [INDENT + line for line in cluster_lines(diagram, inner.name, loops)]
        lines.append("}")
    return lines


def task_lines(tasks: tuple[TaskNode, ...]) -> list[str]:
    """The tasks cluster: one node per task, a dotted edge from each dependency to its task."""
    if not tasks:
        return []
    lines = ['subgraph "cluster_tasks" {', f'{INDENT}label="Tasks";']
    for task in tasks:
        mark = " (indicator)" if task.indicator else ""
        text = label(task.name + mark, *wrap(task.title, 34), f"process {task.process}")
        extra = attrs(label=text, shape="component", style="filled", fillcolor='"#f5f0fa"')
        lines.append(f"{INDENT}{quote('task:' + task.name)}{extra};")
    for task in tasks:
        for dep in task.depends_on:
            line = f"{quote('task:' + dep)} -> {quote('task:' + task.name)}"
            lines.append(f"{INDENT}{line}{attrs(style='dotted', label=quote('then'))};")
    return [*lines, "}"]


def render_diagram(diagram: Diagram) -> str:
    """The DOT text of a diagram model."""
    title = f"{diagram.title or diagram.id} ({diagram.id} v{diagram.version})"
    font = f"fontname=Helvetica, fontsize={TEXT_SIZE}"
    body = [
        f"graph [label={quote(title)}, labelloc=t, labeljust=l, rankdir=TB, fontname=Helvetica, "
        f"fontsize={NAME_SIZE}, nodesep=0.3, ranksep=0.4];",
        f'node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#3b5b8c", '
        f"fontname=Helvetica, fontsize={NAME_SIZE}];",
        f'edge [{font}, color="{PLAIN}", fontcolor="{PLAIN}"];',
    ]
    loops: dict[str, list[Edge]] = {}
    for edge in diagram.edges:
        if is_loop(edge) and edge.tail_group is None:
            loops.setdefault(edge.source, []).append(edge)
    if diagram.groups:
        body.append("compound=true;")  # edges may end at a cluster's border
        body += cluster_lines(diagram, None, loops)
    else:
        body += [node_line(node, loops.get(node.name, [])) for node in diagram.nodes]
    if diagram.initial is not None:
        start = f'shape=point, width=0.14, style=filled, color="{PLAIN}", fillcolor="{PLAIN}"'
        body.append(f'"{START}" [{start}, label=""];')
        body.append(f'"{START}" -> {quote(diagram.initial)};')
    body += [edge_line(edge) for edge in diagram.edges if not is_loop(edge)]
    body += task_lines(diagram.tasks)
    lines = [f"digraph {quote(diagram.id)} {{", *(INDENT + line for line in body), "}"]
    return "\n".join(lines) + "\n"


def render_dot(process: Process) -> str:
    """The Graphviz DOT text of a process."""
    return render_diagram(extract(process))
