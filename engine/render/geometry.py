"""The geometry the layered layout works in: boxes, the items and links it is given, its result.

`engine/render/layout.py` places items (`Slot`s in rows); `engine/render/routing.py` draws the
links between the placed boxes; `engine/render/builtin_svg.py` writes the `Layout`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["FRAME_PAD", "MARGIN", "Box", "Item", "Kind", "Layout", "Link", "Point", "Route", "Slot"]

Point = tuple[float, float]
Kind = Literal["down", "up", "self"]
MARGIN = 16.0
FRAME_PAD = 8.0  # room between a group's (compound state's) frame and what it holds, per level


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle: top-left corner and size."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share an inner point (touching edges do not count)."""
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def shifted(self, dx: float, dy: float) -> Box:
        return replace(self, x=self.x + dx, y=self.y + dy)


@dataclass(frozen=True)
class Item:
    """A node to place: the whole room it takes, and its body (drawn box) at the room's left.

    The room is wider than the body when the writer puts something on the body's right (a
    self-loop and its label); links attach to the body.
    """

    name: str
    width: float
    height: float
    body_width: float
    body_height: float


@dataclass(frozen=True)
class Link:
    """A link to route, with the size of its label (0 x 0 for none)."""

    source: str
    dest: str
    label_width: float = 0.0
    label_height: float = 0.0


@dataclass(frozen=True)
class Route:
    """How a link is drawn.

    `down`: `points` are the source port, the points it passes and the target port; the path is
    a vertical-tangent curve through them. `up`: `points` are the corners of a bracket (out
    sideways, up, back in), joined by straight lines. `self`: no points (the writer draws the
    loop beside the body).
    """

    kind: Kind
    points: tuple[Point, ...] = ()
    label: Box | None = None


@dataclass(frozen=True)
class Layout:
    """Where everything goes: items' rooms and bodies by name, routes in the links' order."""

    rooms: dict[str, Box]
    bodies: dict[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float
    frames: dict[str, Box] = field(default_factory=dict)  # group -> the frame round its items


@dataclass
class Slot:
    """A place in a row while laying out: an item, a point a link passes, or a label."""

    key: str
    width: float
    height: float
    anchor: float  # x offset of the point where links attach
    weight: float = 1.0
    preds: list[str] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)
    left: float = 0.0
    top: float = 0.0
    row: tuple[float, float] = (0.0, 0.0)  # top and bottom of the slot's row
