"""Routing the links of a layered layout, once its boxes are placed.

Links going down pass through the points the layout reserved for them in every row they cross,
leaving and reaching the boxes by ports spread along their bottom and top. Links going up (back
links) are round-cornered brackets on the side with the fewest boxes in the way, nested outside
everything they pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .geometry import Box, Link, Point, Route, Slot

__all__ = ["Sides", "down_routes", "up_route"]


def _ports(box: Box, count: int) -> list[float]:
    """x of `count` ports spread along the middle 60% of a box's side."""
    span = box.width * 0.6
    return [box.cx - span / 2 + span * (k + 1) / (count + 1) for k in range(count)]


def down_routes(
    links: list[Link],
    chains: dict[int, list[str]],
    slots: dict[str, Slot],
    bodies: dict[str, Box],
) -> dict[int, Route]:
    """Routes of the down links: through their points, ports spread by where they go."""
    outs: dict[str, list[int]] = {}
    ins: dict[str, list[int]] = {}
    for index in chains:
        outs.setdefault(links[index].source, []).append(index)
        ins.setdefault(links[index].dest, []).append(index)
    port: dict[tuple[int, str], float] = {}

    def centre(key: str) -> float:
        return slots[key].left + slots[key].anchor

    for name, group in outs.items():
        group.sort(key=lambda i: (centre(chains[i][1]), i))
        for i, x in zip(group, _ports(bodies[name], len(group)), strict=True):
            port[(i, "out")] = x
    for name, group in ins.items():
        group.sort(key=lambda i: (centre(chains[i][-2]), i))
        for i, x in zip(group, _ports(bodies[name], len(group)), strict=True):
            port[(i, "in")] = x
    routes: dict[int, Route] = {}
    for index, keys in chains.items():
        source, dest = bodies[keys[0]], bodies[keys[-1]]
        out, into = port[(index, "out")], port[(index, "in")]
        # straight down through every row, turning only between rows: no box is crossed
        points: list[Point] = [(out, source.bottom), (out, slots[keys[0]].row[1])]
        label = None
        for key in keys[1:-1]:
            slot = slots[key]
            x = slot.left + slot.anchor
            if slot.height:
                label = Box(slot.left, slot.top, slot.width, slot.height)
            points += [(x, slot.row[0]), (x, slot.row[1])]
        points += [(into, slots[keys[-1]].row[0]), (into, dest.y)]
        routes[index] = Route("down", tuple(points), label)
    return routes


def _side_cost(side: int, link: Link, rooms: dict[str, Box], bodies: dict[str, Box]) -> float:
    """How bad leaving on a side is (+1 right, -1 left): boxes passed in the ends' rows."""
    cost = 0.0
    for name in (link.source, link.dest):
        body, room = bodies[name], rooms[name]
        if (room.right if side > 0 else -room.x) > (body.right if side > 0 else -body.x) + 0.5:
            cost += 1000.0  # something (a self-loop) is drawn on that side of the body
        for other, box in rooms.items():
            beside = box.x >= body.right if side > 0 else box.right <= body.x
            if other != name and beside and box.y <= body.cy <= box.bottom:
                cost += 1.0
    return cost


@dataclass
class Sides:
    """The room taken on the sides so far, and the ports used on each side of each body."""

    obstacles: list[Box]
    used: dict[tuple[str, int], int] = field(default_factory=dict)

    def count(self, name: str, side: int) -> int:
        """How many ports of that side of that body are taken (then one more is)."""
        count = self.used.get((name, side), 0)
        self.used[(name, side)] = count + 1
        return count

    def port(self, name: str, side: int) -> float:
        """The y offset, from the middle of a body's side, of a new port there."""
        return (0.0, -9.0, 9.0, -18.0, 18.0)[self.count(name, side) % 5]


def _up_ends(
    link: Link,
    side: int,
    bodies: dict[str, Box],
    rows: dict[str, tuple[float, float]],
    gap: float,
    sides: Sides,
) -> tuple[list[Point], list[Point]]:
    """Where a back link leaves its source and reaches its target, when boxes are beside them.

    It leaves the source's top (near the side it goes to) into the gap above the source's
    row, and reaches the target's bottom from the gap below the target's row: gaps hold no box.
    """
    source, dest = bodies[link.source], bodies[link.dest]

    def near_side(box: Box, name: str) -> float:
        inset = 8.0 + 7.0 * (sides.count(name, 2 * side) % 3)
        return box.right - inset if side > 0 else box.x + inset

    px, qx = near_side(source, link.source), near_side(dest, link.dest)
    sy, ty = rows[link.source][0] - gap / 2, rows[link.dest][1] + gap / 2
    return [(px, source.y), (px, sy)], [(qx, ty), (qx, dest.bottom)]


def up_route(
    link: Link,
    layout: tuple[dict[str, Box], dict[str, Box], dict[str, tuple[float, float]]],
    gap: float,
    sides: Sides,
) -> Route:
    """A bracket on one side, out past every box between its ends, its label beyond it.

    It leaves and reaches the boxes by their sides when nothing stands beside them in their
    rows, else through the gaps between rows (`_up_ends`).
    """
    rooms, bodies, rows = layout
    source, dest = bodies[link.source], bodies[link.dest]
    cost, flipped = min((_side_cost(s, link, rooms, bodies), -s) for s in (1, -1))
    side = -flipped
    if cost:
        start, end = _up_ends(link, side, bodies, rows, gap, sides)
    else:
        sx, tx = (source.right, dest.right) if side > 0 else (source.x, dest.x)
        start = [(sx, source.cy + sides.port(link.source, side))]
        end = [(tx, dest.cy + sides.port(link.dest, side))]
    (sx, sy), (tx, ty) = start[-1], end[0]
    low, high = min(sy, ty), max(sy, ty)
    band = [b for b in sides.obstacles if b.y < high and b.bottom > low]
    xs = [x for x, _ in start + end]
    if side > 0:
        extreme = max([b.right for b in band] + xs) + 14.0
        label = Box(extreme + 4.0, (sy + ty - link.label_height) / 2, link.label_width, 0.0)
        taken = Box(min(xs), low, extreme - min(xs), high - low)
    else:
        extreme = min([b.x for b in band] + xs) - 14.0
        label = Box(extreme - 4.0 - link.label_width, (sy + ty - link.label_height) / 2, 0, 0)
        label = replace(label, width=link.label_width)
        taken = Box(extreme, low, max(xs) - extreme, high - low)
    label = replace(label, height=link.label_height)
    sides.obstacles += [taken, label] if link.label_width else [taken]
    points = (*start, (extreme, sy), (extreme, ty), *end)
    return Route("up", points, label if link.label_width else None)
