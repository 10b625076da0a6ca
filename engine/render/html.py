"""A self-contained HTML page for an auditor: the diagram and the tables of a process.

The page fetches nothing and runs no script: the CSS is inline and the diagram is the SVG from
Graphviz when `dot` is installed (and `FULFIL_DOT` does not turn it off), otherwise the built-in
SVG drawing (`engine.render.builtin_svg`) with a note and the Mermaid source in a collapsed
`<details>`; a process too big for the built-in layout gets the Mermaid source only. Either
drawing is shown at its natural size, never shrunk below readable text (`engine.render.frame`).
`render_report` puts several processes on one page, with a table of contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

from ..model import Process
from .builtin_svg import builtin_svg
from .frame import CSS as FRAME_CSS
from .frame import framed, in_pixels
from .html_rules import rules_section
from .html_tables import all_tables
from .mermaid import render_mermaid
from .svg import dot_program, graphviz_svg

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em;
       color: #222; max-width: 80em; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; } tr:nth-child(even) td { background: #fafafa; }
code { font-size: 0.95em; } .none { color: #999; }
.meta { color: #555; } .note { background: #fff8dc; padding: 0.5em; border: 1px solid #e8d8a0; }
details { margin: 0.5em 0; } summary { cursor: pointer; color: #555; }
pre.mermaid { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def diagram_html(process: Process) -> str:
    """The SVG diagram from Graphviz when installed, else the built-in SVG and Mermaid source."""
    ident = f"{process.id}-v{process.version}"
    if dot_program() is not None:
        return framed(in_pixels(graphviz_svg(process)), ident)
    mermaid = f'<pre class="mermaid">{escape(render_mermaid(process))}</pre>'
    drawn = builtin_svg(process, inline=True)
    if drawn is None:
        note = (
            '<p class="note">Graphviz is not installed on the machine that made this page and '
            "the process is too big for the built-in drawing, so the diagram is given as "
            "Mermaid source: paste it into any Mermaid viewer to draw it.</p>"
        )
        return f"{note}\n{mermaid}"
    note = (
        '<p class="note">Graphviz is not installed on the machine that made this page: the '
        "diagram below is fulfil's built-in drawing. Dashed orange arrows are fired by timers; "
        "the Mermaid source is below it.</p>"
    )
    source = f"<details><summary>Mermaid source</summary>\n{mermaid}\n</details>"
    return f"{note}\n{framed(drawn, ident)}\n{source}"


def anchor(process: Process) -> str:
    return f"process-{escape(process.id)}"


def section(process: Process, runs: str = "", family: Iterable[Process] = ()) -> str:
    """One process: heading, version, description, diagram, its rules, `runs` (HTML: what
    instances did, e.g. `html_history.history_html`) and tables. `family` is the catalog the
    process runs in (the requests whose rules fire its triggers)."""
    heading = escape(process.title or process.id)
    meta = f"<code>{escape(process.id)}</code> version {process.version}"
    if process.source_file and process.source_file != "<string>":
        meta += f" — {escape(process.source_file)}"
    parts = [
        f'<section id="{anchor(process)}">',
        f"<h2>{heading}</h2>",
        f'<p class="meta">{meta}</p>',
    ]
    if process.description:
        parts.append(f"<p>{escape(process.description)}</p>")
    parts += ["<h3>Diagram</h3>", diagram_html(process), rules_section(process, family)]
    parts += [runs] if runs else []
    parts += [*all_tables(process), "</section>"]
    return "\n".join(parts)


def page(title: str, body: Sequence[str]) -> str:
    """A whole HTML document with the inline style sheet."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{CSS}{FRAME_CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>{escape(title)}</h1>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def render_html(process: Process, family: Iterable[Process] = ()) -> str:
    """A self-contained auditor's page for one process; `family` as for `section`."""
    title = f"{process.title or process.id} (version {process.version})"
    return page(title, [section(process, family=family)])


def render_report(
    processes: Sequence[Process],
    *,
    title: str = "fulfil processes",
    runs: Mapping[str, str] | None = None,
) -> str:
    """One self-contained page for several processes, with a table of contents; `runs` maps a
    process id to HTML put under its diagram (the demo's instances and their histories)."""
    toc = ["<nav><ul>"]
    for process in processes:
        name = escape(process.title or process.id)
        toc.append(f'<li><a href="#{anchor(process)}">{name}</a> (v{process.version})</li>')
    toc.append("</ul></nav>")
    runs = runs or {}
    body = (section(p, runs.get(p.id, ""), processes) for p in processes)
    return page(title, [*toc, *body])
