"""The built-in SVG diagram of a process: drawn without Graphviz, for the auditor's page.

The diagram model (`engine.render.diagram`) is laid out by `engine.render.layout` and written here
as plain SVG: states as boxes (name and status line; a filled dot points at the initial state,
terminal states have a double border, waiting ones a yellow fill), transitions as arrows with
their labels on a white background, timer transitions dashed and orange, and a request's tasks
with their depends_on arrows in a separate "Tasks" box below. Transitions between the same two
states (and of the same kind, by hand or by timer) share one arrow with one line per transition;
a state's transitions to itself are listed inside its box, under a rule (`engine.render.text`).
Each state is a `<g class="node">` and each arrow's label a `<g class="edge">`, as in Graphviz's
SVG. The SVG's units are pixels and no text is smaller than 11.

Text widths are estimated from character counts, so boxes are a little generous. The output
depends only on the process: the same process gives the same bytes.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..model import Process
from .diagram import Diagram, Edge, Node, TaskNode, extract
from .layout import Box, Item, Layout, Link, Point, Route, layered_layout
from .text import is_loop, loop_sections, unique_texts, wrap

MAX_NODES = 200  # beyond this the layout gets slow and the picture unreadable
FONT = "Helvetica, Arial, sans-serif"
NAME_SIZE, TEXT_SIZE, LINE = 13.0, 11.0, 14.0
PLAIN, TIMED, MUTED = "#333333", "#b35c00", "#555555"
GROUP = "#5a6b7d"  # the frame of a compound state
SVG_NS = ' xmlns="http://www.w3.org/2000/svg"'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """An estimate of the width of a line of text: symbols count wider than letters."""
    per_char = 0.6 if bold else 0.54
    return sum(1.1 if ord(char) >= 0x2000 else per_char for char in text) * size


def xml(text: str) -> str:
    """Text safe in XML content and attribute values (characters XML forbids are dropped)."""
    return html.escape(_NOT_XML.sub("", text), quote=True)


def num(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Arrow:
    """The transitions of one kind from a state to another (or the same) state."""

    source: str
    dest: str
    timer: bool
    lines: tuple[str, ...]

    @property
    def size(self) -> tuple[float, float]:
        """Width and height of the label."""
        width = max(text_width(line, TEXT_SIZE) for line in self.lines) + 8
        return width, len(self.lines) * LINE + 4


def arrows(edges: Iterable[Edge]) -> list[Arrow]:
    """Edges between two states grouped by (source, dest, timer or not), in order of first
    appearance; edges from a state to itself are left out (they are listed in the box)."""
    grouped: dict[tuple[str, str, bool], list[Edge]] = {}
    for edge in edges:
        if not is_loop(edge):
            grouped.setdefault((edge.source, edge.dest, edge.is_timer), []).append(edge)
    found = []
    for (source, dest, timer), group in grouped.items():
        texts = unique_texts(group)
        lines = (line for text in texts for line in wrap(text, bullet=len(texts) > 1))
        found.append(Arrow(source, dest, timer, tuple(lines)))
    return found


Sections = Sequence[tuple[str, Sequence[tuple[str, bool]]]]  # headings over (line, timer)


def node_size(title: str, captions: Sequence[str], sections: Sections = ()) -> tuple[float, float]:
    """Width and height of a box: a bold title over lines of caption, then listed sections."""
    listed = [line for heading, lines in sections for line in (heading, *(t for t, _ in lines))]
    widths = [
        text_width(title, NAME_SIZE, bold=True),
        *(text_width(c, TEXT_SIZE) for c in captions),
        *(text_width(line, TEXT_SIZE) + (12 if line.startswith("  ") else 0) for line in listed),
    ]
    height = 28.0 + LINE * len(captions)
    if listed:
        height += 8.0 + LINE * len(listed)
    return max(max(widths) + 24, 90.0), height


def captions(node: Node) -> list[str]:
    return [node.caption] if node.caption else []


def state_items(nodes: Sequence[Node], loops: dict[str, list[Edge]]) -> list[Item]:
    """Layout items of the states: their boxes, tall enough for the transitions they list."""
    items = []
    for node in nodes:
        width, height = node_size(
            node.name, captions(node), loop_sections(loops.get(node.name, []))
        )
        items.append(Item(node.name, width, height, width, height))
    return items


def path_through(points: Sequence[Point]) -> str:
    """A path through points, leaving and reaching each one vertically."""
    # a repeated point would make a zero-length last piece, and turn the arrowhead askew
    points = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    x, y = points[0]
    parts = [f"M{num(x)},{num(y)}"]
    for (px, py), (qx, qy) in itertools.pairwise(points):
        if abs(px - qx) < 0.5:
            parts.append(f"L{num(qx)},{num(qy)}")
        else:
            mid = (qy - py) / 2
            parts.append(
                f"C{num(px)},{num(py + mid)} {num(qx)},{num(qy - mid)} {num(qx)},{num(qy)}"
            )
    return " ".join(parts)


def bracket(points: Sequence[Point]) -> str:
    """A path along straight lines through points, its bends rounded."""
    (x, y), last = points[0], points[-1]
    parts = [f"M{num(x)},{num(y)}"]
    for (ax, ay), (bx, by), (cx, cy) in zip(points, points[1:], points[2:], strict=False):
        before, after = math.hypot(bx - ax, by - ay), math.hypot(cx - bx, cy - by)
        r = min(12.0, before / 2, after / 2)
        if r < 0.5:
            parts.append(f"L{num(bx)},{num(by)}")
            continue
        x0, y0 = bx - (bx - ax) * r / before, by - (by - ay) * r / before
        x1, y1 = bx + (cx - bx) * r / after, by + (cy - by) * r / after
        parts.append(f"L{num(x0)},{num(y0)} Q{num(bx)},{num(by)} {num(x1)},{num(y1)}")
    parts.append(f"L{num(last[0])},{num(last[1])}")
    return " ".join(parts)


def route_path(route: Route) -> str:
    return bracket(route.points) if route.kind == "up" else path_through(route.points)


class Canvas:
    """The SVG elements of one diagram, with its ids made unique on a page."""

    def __init__(self, ident: str) -> None:
        self.prefix = "fulfil-" + re.sub(r"[^A-Za-z0-9_.-]", "_", ident)
        self.parts: list[str] = []

    def marker(self, timer: bool) -> str:
        return f"url(#{self.prefix}-{'timer' if timer else 'arrow'})"

    def defs(self) -> str:
        marks = []
        for name, colour in (("arrow", PLAIN), ("timer", TIMED)):
            marks.append(
                f'<marker id="{self.prefix}-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
                'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
            )
        return f"<defs>{''.join(marks)}</defs>"

    def path(self, d: str, *, timer: bool, arrow: bool = True) -> None:
        colour = TIMED if timer else PLAIN
        dash = ' stroke-dasharray="6 4"' if timer else ""
        end = f' marker-end="{self.marker(timer)}"' if arrow else ""
        self.parts.append(
            f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.3"{dash}{end}/>'
        )

    def text(self, x: float, y: float, text: str, **style: str) -> None:
        attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in style.items())
        self.parts.append(f'<text x="{num(x)}" y="{num(y)}"{attrs}>{xml(text)}</text>')

    def rect(
        self, box: Box, fill: str, stroke: str, *, rx: float = 6.0, width: str = "1.2"
    ) -> None:
        self.parts.append(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.width)}" '
            f'height="{num(box.height)}" rx="{num(rx)}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width}"/>'
        )

    def label(self, box: Box, lines: Sequence[tuple[str, bool]], *, right: bool = False) -> None:
        """Lines of text on a white background; timer lines in the timer colour.

        `right` aligns the lines on the box's right (a label left of its curve).
        """
        self.parts.append(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.width)}" '
            f'height="{num(box.height)}" fill="#ffffff" fill-opacity="0.92"/>'
        )
        for row, (line, timer) in enumerate(lines):
            y = box.y + 2 + LINE * (row + 1) - 3
            colour = TIMED if timer else PLAIN
            indent = 12.0 if line.startswith("  ") else 0.0  # SVG collapses leading spaces
            if right:
                self.text(box.right - 4, y, line.strip(), fill=colour, text_anchor="end")
            else:
                self.text(box.x + 4 + indent, y, line.strip(), fill=colour)


def colours(node: Node) -> tuple[str, str]:
    """Fill and stroke of a state's box."""
    if node.terminal:
        return "#f2f2f2", "#444444"
    if node.waiting:
        return "#fff6d5", "#9a7b12"
    return "#eef3fb", "#3b5b8c"


def draw_box(
    canvas: Canvas,
    body: Box,
    title: str,
    caption: Sequence[str],
    node: Node | None,
    sections: Sections = (),
) -> None:
    """A state's (or a task's) box: name, caption, listed sections; initial and terminal marks."""
    fill, stroke = colours(node) if node else ("#f5f0fa", "#6a4c93")
    canvas.parts.append('<g class="node">')
    canvas.rect(body, fill, stroke)
    if node and node.terminal:
        inner = Box(body.x + 3, body.y + 3, body.width - 6, body.height - 6)
        canvas.rect(inner, "none", stroke, rx=4.0)
    name_y = body.y + 19 if caption or sections else body.cy + 4.5
    canvas.text(
        body.cx, name_y, title, text_anchor="middle", font_weight="bold", font_size=num(NAME_SIZE)
    )
    for row, line in enumerate(caption):
        y = body.y + 34 + LINE * row
        canvas.text(body.cx, y, line.strip(), text_anchor="middle", fill=MUTED)
    if sections:
        draw_sections(canvas, body, body.y + 30 + LINE * len(caption), stroke, sections)
    canvas.parts.append("</g>")
    if node and node.initial:
        canvas.parts.append(
            f'<circle cx="{num(body.cx)}" cy="{num(body.y - 24)}" r="6" fill="{PLAIN}"/>'
        )
        canvas.path(
            f"M{num(body.cx)},{num(body.y - 18)} L{num(body.cx)},{num(body.y)}", timer=False
        )


def draw_sections(canvas: Canvas, body: Box, top: float, stroke: str, sections: Sections) -> None:
    """Below a rule at `top`, each heading (grey, italic) over its lines, left-aligned; lines
    of timer transitions in the timer colour."""
    canvas.parts.append(
        f'<path d="M{num(body.x)},{num(top)} H{num(body.right)}" stroke="{stroke}" '
        'stroke-width="0.8"/>'
    )
    rows: list[tuple[str, str]] = []
    for heading, lines in sections:
        rows += [(heading, MUTED), *((line, TIMED if timer else PLAIN) for line, timer in lines)]
    for row, (line, colour) in enumerate(rows):
        y = top + LINE * (row + 1) + 1
        indent = 12.0 if line.startswith("  ") else 0.0  # SVG collapses leading spaces
        style = {"font_style": "italic"} if colour == MUTED else {}
        canvas.text(body.x + 10 + indent, y, line.strip(), fill=colour, **style)


def group_paths(diagram: Diagram) -> dict[str, tuple[str, ...]]:
    """State -> the compound states it is drawn in, outermost first."""
    parents = {g.name: g.parent for g in diagram.groups}
    paths: dict[str, tuple[str, ...]] = {}
    for node in diagram.nodes:
        chain: list[str] = []
        parent = node.parent
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = parents.get(parent)
        if chain:
            paths[node.name] = tuple(reversed(chain))
    return paths


def group_frames(layout: Layout, paths: dict[str, tuple[str, ...]]) -> dict[str, Box]:
    """The frames of the compound states to draw: those that no other state's box touches
    (the layout moves the others aside; a frame it could not clear would mislead, and is left
    out)."""
    frames: dict[str, Box] = {}
    for group, frame in layout.frames.items():
        others = [b for name, b in layout.rooms.items() if group not in paths.get(name, ())]
        if not any(frame.overlaps(b) for b in others):
            frames[group] = frame
    return frames


def layout_states(diagram: Diagram) -> tuple[Layout, list[Arrow], dict[str, list[Edge]]]:
    """The layout of the states, the arrows between states, and the self-loops by state."""
    loops: dict[str, list[Edge]] = {}
    for edge in diagram.edges:
        if is_loop(edge):
            loops.setdefault(edge.source, []).append(edge)
    between = arrows(diagram.edges)
    links = [Link(a.source, a.dest, *a.size) for a in between]
    items = state_items(diagram.nodes, loops)
    paths = group_paths(diagram)
    layout = layered_layout(items, links, root=diagram.initial, groups=paths)
    return layout, between, loops


def draw_frames(canvas: Canvas, diagram: Diagram, layout: Layout) -> None:
    """Each compound state as a frame round its states, its name on the frame's top edge."""
    frames = group_frames(layout, group_paths(diagram))
    for group in diagram.groups:
        frame = frames.get(group.name)
        if frame is None:
            continue
        canvas.parts.append(f'<g class="compound" data-state="{xml(group.name)}">')
        canvas.rect(frame, "none", GROUP, rx=10.0, width="1")
        title = group.name + (f" ({group.status})" if group.status else "")
        box = Box(frame.x + 10, frame.y - 7, text_width(title, TEXT_SIZE) + 8, 14)
        canvas.parts.append(
            f'<rect x="{num(box.x)}" y="{num(box.y)}" width="{num(box.width)}" '
            f'height="{num(box.height)}" fill="#ffffff"/>'
        )
        canvas.text(box.x + 4, box.y + 11, title, fill=GROUP, font_weight="bold")
        canvas.parts.append("</g>")


def draw_states(canvas: Canvas, diagram: Diagram) -> Layout:
    """Draw the states and transitions; returns their layout."""
    layout, between, loops = layout_states(diagram)
    if diagram.groups:
        draw_frames(canvas, diagram, layout)
    for arrow, route in zip(between, layout.routes, strict=True):
        canvas.path(route_path(route), timer=arrow.timer)
    for arrow, route in zip(between, layout.routes, strict=True):
        if route.label is not None:
            left = route.kind == "up" and route.label.x < route.points[0][0]
            canvas.parts.append('<g class="edge">')
            canvas.label(route.label, [(line, arrow.timer) for line in arrow.lines], right=left)
            canvas.parts.append("</g>")
    for node in diagram.nodes:
        sections = loop_sections(loops.get(node.name, []))
        draw_box(canvas, layout.bodies[node.name], node.name, captions(node), node, sections)
    return layout


def task_lines(task: TaskNode) -> tuple[str, list[str]]:
    """A task's title line and caption lines: its title wrapped, then its process."""
    title = f"{task.name} (indicator)" if task.indicator else task.name
    return title, [*(wrap(task.title, 34) if task.title else []), f"process {task.process}"]


def draw_tasks(canvas: Canvas, tasks: Sequence[TaskNode], top: float) -> Box:
    """The Tasks box below the states, its tasks linked by depends_on; returns the frame."""
    names = {task.name for task in tasks}
    items = []
    for task in tasks:
        width, height = node_size(*task_lines(task))
        items.append(Item(task.name, width, height, width, height))
    links = [Link(dep, t.name) for t in tasks for dep in t.depends_on if dep in names]
    layout = layered_layout(items, links, gap_y=18.0)
    frame = Box(16.0, top, layout.width, layout.height + 22)
    canvas.rect(frame, "#fcfcfc", "#999999", rx=10.0)
    canvas.text(frame.x + 10, top + 18, "Tasks", font_weight="bold", font_size=num(NAME_SIZE))
    canvas.parts.append(f'<g transform="translate({num(frame.x)},{num(top + 22)})">')
    for route in layout.routes:
        canvas.path(route_path(route), timer=False)
    for task in tasks:
        draw_box(canvas, layout.bodies[task.name], *task_lines(task), None)
    canvas.parts.append("</g>")
    return frame


def legend(diagram: Diagram) -> str:
    """What the marks mean, for the marks this diagram uses."""
    parts = ["● initial state"]
    if any(n.terminal for n in diagram.nodes):
        parts.append("double border: terminal")
    if any(n.waiting for n in diagram.nodes):
        parts.append("yellow: waiting")
    if any(e.is_timer for e in diagram.edges):
        parts.append("dashed orange: fired by a timer")
    if any(is_loop(e) for e in diagram.edges):
        parts.append("listed in a box: transitions to the same state")
    return " · ".join(parts)


def diagram_svg(diagram: Diagram, *, inline: bool = False) -> str | None:
    """The SVG text of a diagram, or None when it has more than MAX_NODES states and tasks.

    Args:
        diagram: what to draw.
        inline: for an HTML page, where `<svg>` needs no namespace declaration.
    """
    if len(diagram.nodes) + len(diagram.tasks) > MAX_NODES:
        return None
    canvas = Canvas(f"{diagram.id}-v{diagram.version}")
    top = 28.0 if diagram.initial else 0.0
    canvas.parts.append(f'<g transform="translate(0,{num(top)})">')
    layout = draw_states(canvas, diagram)
    canvas.parts.append("</g>")
    width, bottom = layout.width, top + layout.height
    if diagram.tasks:
        frame = draw_tasks(canvas, diagram.tasks, bottom)
        width, bottom = max(width, frame.right + 16), frame.bottom + 8
    note = legend(diagram)
    canvas.text(16.0, bottom + 14, note, fill=MUTED)
    width = max(width, text_width(note, TEXT_SIZE) + 32)
    height = bottom + 24
    title = f"{diagram.title or diagram.id} ({diagram.id} v{diagram.version})"
    head = (
        f'<svg{"" if inline else SVG_NS} width="{num(width)}" height="{num(height)}" '
        f'viewBox="0 0 {num(width)} {num(height)}" font-family="{FONT}" '
        f'font-size="{num(TEXT_SIZE)}" role="img">'
    )
    body = [head, f"<title>{xml(title)}</title>", canvas.defs(), *canvas.parts, "</svg>"]
    return "\n".join(body) + "\n"


def builtin_svg(process: Process, *, inline: bool = False) -> str | None:
    """The built-in SVG diagram of a process, or None when it is too big to draw readably."""
    return diagram_svg(extract(process), inline=inline)
