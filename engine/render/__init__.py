"""Renderers of a process: a small registry of formats, each a function Process -> text.

    mermaid  Mermaid stateDiagram-v2 text        (engine.render.mermaid)
    dot      Graphviz DOT text                   (engine.render.dot)
    svg      SVG through Graphviz's `dot`        (engine.render.svg)
    html     a self-contained auditor's page     (engine.render.html)

All of them read the diagram model of `engine.render.diagram`. The html page draws the diagram
with Graphviz when `dot` is installed (and `FULFIL_DOT` is not `off`), else with the built-in
layered layout (`engine.render.layout`, written as SVG by `engine.render.builtin_svg`); the `svg`
format itself stays Graphviz's. `docs/diagrams.md` says what the drawings show and why.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import UsageError
from ..model import Process
from .dot import render_dot
from .html import render_html, render_report
from .mermaid import render_mermaid
from .svg import render_svg


class Renderer(Protocol):
    """Turns a process into the text of one format."""

    def __call__(self, process: Process) -> str: ...


RENDERERS: dict[str, Renderer] = {
    "mermaid": render_mermaid,
    "dot": render_dot,
    "svg": render_svg,
    "html": render_html,
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def get_renderer(format: str) -> Renderer:
    """The renderer of a format.

    Raises:
        UsageError: unknown format; the message lists the available ones.
    """
    try:
        return RENDERERS[format]
    except KeyError:
        available = ", ".join(FORMATS)
        raise UsageError(f"Unknown format: {format!r}. Available formats: {available}") from None


def render(process: Process, format: str) -> str:
    """Render a process in a format (one of FORMATS)."""
    return get_renderer(format)(process)


__all__ = [
    "FORMATS",
    "RENDERERS",
    "Renderer",
    "get_renderer",
    "render",
    "render_dot",
    "render_html",
    "render_mermaid",
    "render_report",
    "render_svg",
]
