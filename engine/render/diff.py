"""What a new version of a process changes: states and transitions added and removed.

`fulfil render PROCESS --diff 1..2` draws both versions as one diagram (Mermaid), or an HTML
page an auditor reads: added states and transitions are marked `added` (green), removed ones
`removed` (red, dashed); what both versions have is drawn plainly. A transition is the same in
both when its source, destination and trigger are (a changed guard or role list shows as
`changed`, in the HTML tables).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from ..model import Process
from .diagram import Diagram, Edge, Node, extract
from .mermaid import INDENT, edge_label, escape, node_id
from .text import conditions_text

__all__ = ["VersionDiff", "diff_versions", "render_diff_html", "render_diff_mermaid"]


def _key(edge: Edge) -> tuple[str, str, str]:
    return (edge.source, edge.dest, edge.trigger)


@dataclass(frozen=True)
class VersionDiff:
    """Two versions' diagrams and what differs between them."""

    old: Diagram
    new: Diagram

    @property
    def added_states(self) -> list[str]:
        before = {n.name for n in self.old.nodes}
        return [n.name for n in self.new.nodes if n.name not in before]

    @property
    def removed_states(self) -> list[str]:
        after = {n.name for n in self.new.nodes}
        return [n.name for n in self.old.nodes if n.name not in after]

    @property
    def added_edges(self) -> list[Edge]:
        before = {_key(e) for e in self.old.edges}
        return [e for e in self.new.edges if _key(e) not in before]

    @property
    def removed_edges(self) -> list[Edge]:
        after = {_key(e) for e in self.new.edges}
        return [e for e in self.old.edges if _key(e) not in after]

    @property
    def changed_edges(self) -> list[tuple[Edge, Edge]]:
        before = {_key(e): e for e in self.old.edges}
        return [
            (before[_key(e)], e)
            for e in self.new.edges
            if _key(e) in before and before[_key(e)] != e
        ]


def diff_versions(old: Process, new: Process) -> VersionDiff:
    """The diff of two versions of one process."""
    return VersionDiff(extract(old), extract(new))


def render_diff_mermaid(diff: VersionDiff) -> str:
    """One Mermaid diagram of both versions, the changes marked by class and label."""
    added, removed = set(diff.added_states), set(diff.removed_states)
    nodes: list[Node] = [*diff.new.nodes, *(n for n in diff.old.nodes if n.name in removed)]
    new_edges = {_key(e) for e in diff.added_edges}
    gone_edges = diff.removed_edges
    title = (
        f"{diff.new.title or diff.new.id} ({diff.new.id} v{diff.old.version} -> "
        f"v{diff.new.version})"
    )
    body = [
        "%% added states and transitions: class added, label [added];",
        "%% removed ones: class removed, label [removed]",
        "classDef added fill:#e6ffe6,stroke:#2e7d32,stroke-width:3px",
        "classDef removed fill:#ffe6e6,stroke:#c62828,stroke-dasharray:5 5",
    ]
    for node in nodes:
        ident = node_id(node.name)
        if ident != node.name:
            body.append(f'state "{escape(node.name)}" as {ident}')
        caption = node.caption
        mark = " [added]" if node.name in added else " [removed]" if node.name in removed else ""
        if caption or mark:
            body.append(f"{ident} : {escape(caption + mark)}")
    initial = diff.new.initial
    if initial is not None:
        body.append(f"[*] --> {node_id(initial)}")
    for edge in diff.new.edges:
        mark = " [added]" if _key(edge) in new_edges else ""
        body.append(f"{node_id(edge.source)} --> {node_id(edge.dest)} : {edge_label(edge)}{mark}")
    for edge in gone_edges:
        body.append(
            f"{node_id(edge.source)} --> {node_id(edge.dest)} : {edge_label(edge)} [removed]"
        )
    body += [f"{node_id(n.name)} --> [*]" for n in nodes if n.terminal]
    if added:
        body.append(f"class {','.join(node_id(n) for n in sorted(added))} added")
    if removed:
        body.append(f"class {','.join(node_id(n) for n in sorted(removed))} removed")
    head = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", "---", "stateDiagram-v2"]
    return "\n".join(head + [INDENT + line for line in body]) + "\n"


def _edge_text(edge: Edge) -> str:
    return f"{edge.source} → {edge.dest}: {edge.trigger}{conditions_text(edge)}"


def render_diff_html(diff: VersionDiff) -> str:
    """A page for a process owner and an auditor: the changes, then the whole diagram."""
    esc = html.escape
    new, old = diff.new, diff.old
    rows: list[str] = []
    for name in diff.added_states:
        rows.append(f'<tr class="added"><td>state</td><td>added</td><td>{esc(name)}</td></tr>')
    for name in diff.removed_states:
        rows.append(
            f'<tr class="removed"><td>state</td><td>removed</td>'
            f"<td><del>{esc(name)}</del></td></tr>"
        )
    for edge in diff.added_edges:
        rows.append(
            f'<tr class="added"><td>transition</td><td>added</td>'
            f"<td><ins>{esc(_edge_text(edge))}</ins></td></tr>"
        )
    for edge in diff.removed_edges:
        rows.append(
            f'<tr class="removed"><td>transition</td><td>removed</td>'
            f"<td><del>{esc(_edge_text(edge))}</del></td></tr>"
        )
    for before, after in diff.changed_edges:
        rows.append(
            f'<tr class="changed"><td>transition</td><td>changed</td>'
            f"<td><del>{esc(_edge_text(before))}</del><br><ins>{esc(_edge_text(after))}</ins>"
            "</td></tr>"
        )
    table = (
        "<table><thead><tr><th>what</th><th>change</th><th>detail</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        if rows
        else "<p>No state or transition changed.</p>"
    )
    title = f"{new.title or new.id}: version {old.version} → {new.version}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; }}
tr.added {{ background: #e6ffe6; }} tr.removed {{ background: #ffe6e6; }}
tr.changed {{ background: #fff8dc; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{len(diff.added_states)} state(s) added, {len(diff.removed_states)} removed;
{len(diff.added_edges)} transition(s) added, {len(diff.removed_edges)} removed,
{len(diff.changed_edges)} changed.</p>
{table}
<h2>Both versions in one diagram (Mermaid)</h2>
<pre class="mermaid">{esc(render_diff_mermaid(diff))}</pre>
</body></html>
"""
