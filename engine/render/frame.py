"""The frame of a diagram on the auditor's page: natural size, scrolling, a fit-to-width switch.

A diagram is shown at its natural size, one SVG unit to the CSS pixel, in a box as wide as the
window allows (wider than the tables' column) that scrolls sideways when the diagram is wider
still: the page never shrinks text to make a wide
process fit. A checkbox (CSS only, the page has no script) fits the diagram to the page's width,
but never below the scale at which its smallest text is `MIN_FONT` pixels high; past that the
box scrolls again. Diagrams whose smallest text is already `MIN_FONT` get no checkbox.
"""

from __future__ import annotations

import re
from html import escape

MIN_FONT = 10.0  # pixels: the smallest text the page shows, at any zoom it offers

CSS = """
.diagram { overflow-x: auto; border: 1px solid #ddd; background: #fff; width: max-content;
           max-width: calc(100vw - 5em); }
.diagram svg { display: block; max-width: none; height: auto; }
.fit { margin: 0 0.4em 0.5em 0; } .fit + label { color: #555; font-size: 0.9em; }
.fit:checked ~ .diagram svg { width: 100%; max-width: var(--natural); min-width: var(--least); }
"""

_SIZE = re.compile(r'<svg\b[^>]*?\swidth="([\d.]+)(?:px)?"')
_POINTS = re.compile(r'\s(width|height)="([\d.]+)pt"')
_FONT = re.compile(r'font-size="([\d.]+)(?:px)?"')


def in_pixels(svg: str) -> str:
    """The SVG from its `<svg` tag on, its size in pixels: one user unit to the pixel.

    Graphviz writes `width="827pt"` with a viewBox in points, which a browser draws 4/3 larger
    than the numbers inside it; without the unit, a 12-point label is 12 pixels high.
    """
    svg = svg[svg.find("<svg") :]
    head, end, rest = svg.partition(">")
    head = _POINTS.sub(lambda found: f' {found.group(1)}="{found.group(2)}"', head)
    return head + end + rest


def natural_width(svg: str) -> float | None:
    """The width the SVG asks for, in pixels (None when it does not say)."""
    found = _SIZE.search(svg)
    return float(found.group(1)) if found else None


def smallest_font(svg: str) -> float | None:
    """The smallest `font-size` in the SVG, in its own units (None when it sets none)."""
    sizes = [float(size) for size in _FONT.findall(svg)]
    return min(sizes, default=None)


def framed(svg: str, ident: str) -> str:
    """An SVG diagram at its natural size in a scrolling box, with a fit-to-width checkbox.

    Args:
        svg: the diagram, its width and height in pixels (see `in_pixels`).
        ident: unique on the page, for the checkbox's id.
    """
    width, smallest = natural_width(svg), smallest_font(svg)
    if width is None or smallest is None or smallest <= MIN_FONT:
        return f'<div class="diagram">{svg}</div>'
    least = width * MIN_FONT / smallest
    box = escape(f"fit-{ident}")
    style = f"--natural: {width:.0f}px; --least: {least:.0f}px"
    return "\n".join(
        [
            f'<input type="checkbox" class="fit" id="{box}">',
            f'<label for="{box}">Fit to the page width (text stays {MIN_FONT:.0f} px or more)'
            "</label>",
            f'<div class="diagram" style="{style}">{svg}</div>',
        ]
    )
